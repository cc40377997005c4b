#!/usr/bin/env node
// The `dataplane` command line. Each subcommand lives in its own module and is
// loaded lazily, so `dataplane --help` stays fast and a subcommand's heavy
// dependencies (the native addon, workers) load only when used.
import { Command, InvalidArgumentError } from 'commander';

function positiveInt(name: string) {
  return (value: string): number => {
    const n = Number(value);
    if (!Number.isInteger(n) || n < 0) throw new InvalidArgumentError(`${name} must be a non-negative integer, got '${value}'`);
    return n;
  };
}

export function buildProgram(): Command {
  const program = new Command();
  program
    .name('dataplane')
    .description('A user-space IPv4 packet dataplane: decode, route, filter, translate and balance packets.')
    .showHelpAfterError('(run with --help for usage)');

  program
    .command('decode')
    .description('Print one line (or one JSON object) per frame of a pcap or pcapng capture, in the spirit of tcpdump -n.')
    .argument('<file>', 'capture file (pcap or pcapng; any byte order; Ethernet, raw IPv4, Linux SLL/SLL2)')
    .option('--json', 'one JSON object per frame instead of a text line')
    .option('-c, --count <n>', 'stop after N frames', positiveInt('--count'))
    .addHelpText(
      'after',
      `
Every frame gets a line: a frame that is not IPv4, or is cut short, says so
rather than being skipped. A corrupt or truncated file prints every good frame
first, then an error naming the byte offset, and exits with status 1.

Examples:
  dataplane decode capture.pcap
  dataplane decode --json --count 10 capture.pcapng | jq .ip`,
    )
    .action(async (file: string, opts: { json?: boolean; count?: number }) => {
      const { runDecode } = await import('../decode/command.js');
      process.exitCode = await runDecode(file, { json: opts.json === true, count: opts.count });
    });

  return program;
}

await buildProgram().parseAsync(process.argv);
