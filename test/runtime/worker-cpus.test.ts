// `run --cpus LIST` (src/runtime/worker-cpus.ts): the list syntax of taskset
// -c, kept in the order written (worker i gets the i-th CPU); a CPU listed
// twice, bad items, too few CPUs and CPUs the process may not use are
// refused in words that name the option and the reason.
import { describe, expect, it } from 'vitest';
import { formatCpuList, parseCpuList, workerCpus, WorkerCpusError } from '../../src/runtime/worker-cpus.js';

describe('parseCpuList', () => {
  it('reads single CPUs, lists and ranges, in the order written', () => {
    expect(parseCpuList('1')).toEqual([1]);
    expect(parseCpuList('0,1')).toEqual([0, 1]);
    expect(parseCpuList('2-5')).toEqual([2, 3, 4, 5]);
    expect(parseCpuList('4,0-2')).toEqual([4, 0, 1, 2]);
    expect(parseCpuList(' 3 , 1 ')).toEqual([3, 1]);
    expect(parseCpuList('7-7')).toEqual([7]);
    expect(parseCpuList('4095')).toEqual([4095]);
  });

  it('refuses a CPU listed twice, alone or inside a range', () => {
    expect(() => parseCpuList('1,1')).toThrow("--cpus: CPU 1 is listed twice in '1,1'");
    expect(() => parseCpuList('0-3,2')).toThrow("--cpus: CPU 2 is listed twice in '0-3,2'");
    expect(() => parseCpuList('2-4,1-3')).toThrow('CPU 2 is listed twice');
  });

  it('refuses bad input, naming the option and the item', () => {
    const cases: [string, string][] = [
      ['', '--cpus: no CPU (a list like 1, 0,1 or 2-5)'],
      ['  ', '--cpus: no CPU'],
      ['0,,1', "--cpus: an empty item in '0,,1'"],
      ['1,', "--cpus: an empty item in '1,'"],
      ['a', "--cpus: 'a' is not a CPU number or a range N-M (a list like"],
      ['0,x1', "--cpus: 'x1' is not a CPU number or a range N-M in '0,x1'"],
      ['-1', "'-1' is not a CPU number"],
      ['1.5', "'1.5' is not a CPU number"],
      ['0-', "'0-' is not a CPU number"],
      ['1-2-3', "'1-2-3' is not a CPU number"],
      ['3-1', "--cpus: '3-1' is a range that ends before it starts"],
      ['4096', "--cpus: '4096': CPU numbers go up to 4095"],
      ['0-99999999999', 'CPU numbers go up to 4095'],
    ];
    for (const [text, message] of cases) {
      expect(() => parseCpuList(text), text).toThrow(WorkerCpusError);
      expect(() => parseCpuList(text), text).toThrow(message);
    }
    expect(() => parseCpuList('z', 'cpus')).toThrow(/^cpus: 'z'/);
  });
});

describe('formatCpuList', () => {
  it('writes runs as ranges, in the given order', () => {
    expect(formatCpuList([0, 1, 2, 3, 5])).toBe('0-3,5');
    expect(formatCpuList([1, 0])).toBe('1,0');
    expect(formatCpuList([7])).toBe('7');
    expect(formatCpuList([])).toBe('');
    expect(formatCpuList(parseCpuList('4,0-2,9-10'))).toBe('4,0-2,9-10');
  });
});

describe('workerCpus', () => {
  it('gives worker i the i-th CPU and leaves the rest of a longer list', () => {
    expect(workerCpus([1, 0], 2, [0, 1])).toEqual([1, 0]);
    expect(workerCpus([3, 1, 2], 2, [0, 1, 2, 3])).toEqual([3, 1]);
  });

  it('refuses fewer CPUs than workers, saying how many of each', () => {
    expect(() => workerCpus([0], 2, [0, 1])).toThrow('--cpus: 1 CPU (0) for 2 workers: each worker needs a CPU of its own (list more CPUs, or --workers 1)');
    expect(() => workerCpus([0, 1, 2], 4, [0, 1, 2, 3])).toThrow('--cpus: 3 CPUs (0-2) for 4 workers');
  });

  it('refuses CPUs the process may not run on, naming them and the ones it may', () => {
    expect(() => workerCpus([5], 1, [0, 1])).toThrow('--cpus: CPU 5 is not one this process may run on (absent, offline, or outside its cpuset or taskset mask); it may use 0-1');
    expect(() => workerCpus([1, 5, 6, 8], 4, [0, 1])).toThrow('--cpus: CPUs 5-6,8 are not ones this process may run on');
    // Even a CPU no worker would use: a list that names an absent CPU is a mistake.
    expect(() => workerCpus([1, 9], 1, [0, 1])).toThrow('CPU 9 is not one');
  });
});
