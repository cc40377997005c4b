// The YAML reader's errors as the config loader words them: yaml's own
// messages speak to programmers ("please use YAML.parseAllDocuments()",
// "Maximum call stack size exceeded", "Set mapAsMap: true") and end in a
// dangling "at line L, column C:" whose code snippet is cut off here. Each
// becomes "YAML: what is wrong at line L, column C", and what yaml only warns
// about on stderr (a list or mapping used as a key) is a problem too.
import { isAlias, isCollection, isDocument, isMap, isScalar, isSeq, visit, type Document, type LineCounter, type Node, type YAMLError } from 'yaml';
import { quoted } from './quoted.js';

/** A nesting deeper than the reader's recursion goes. */
export const TOO_DEEP = 'YAML: nested too deeply to read';

/** yaml's message without its snippet and the colon that introduced it, reworded where it names yaml's API. */
export function yamlErrorText(e: YAMLError, documents: number): string {
  const first = e.message.split('\n')[0].replace(/:\s*$/, '');
  const at = /( at line \d+, column \d+)$/.exec(first)?.[1] ?? '';
  if (e.code === 'MULTIPLE_DOCS') return `YAML: the config must be one YAML document, found ${documents} (a "---" line starts another)${at}`;
  if (/Maximum call stack size exceeded/.test(first)) return `${TOO_DEEP}${at}`;
  return `YAML: ${first}`;
}

/** The config's keys that are lists or mappings (`? [a, b] : 1`): a config key is a plain name. */
export function collectionKeyProblems(doc: Document, lineCounter: LineCounter): string[] {
  const out: string[] = [];
  if (!isDocument(doc)) return out;
  visit(doc, {
    Pair(_, pair) {
      if (!isCollection(pair.key)) return;
      const start = pair.key.range?.[0];
      const where = start === undefined ? '' : ` at line ${lineCounter.linePos(start).line}`;
      out.push(`YAML: key ${quoted(String(pair.key))}${where} is a ${pair.key.constructor.name === 'YAMLSeq' ? 'list' : 'mapping'}; a key must be a plain name`);
    },
  });
  return out;
}

/** An error toJS threw (an alias): an alias with no anchor is its own mistake, not an alias bomb. */
export function aliasErrorText(e: ReferenceError, maxAliases: number): string {
  const unresolved = /^Unresolved alias \(the anchor must be set before the alias\): (.*)$/s.exec(e.message);
  if (unresolved !== null) return `YAML: alias ${quoted(`*${unresolved[1]}`)} names no anchor set before it (an anchor is written &NAME on an earlier value)`;
  return `YAML: too many alias expansions (more than ${maxAliases}; an alias bomb is refused)`;
}

/** A merge key's value (or one of its list's items), its alias followed: what it merges. */
function mergedNode(doc: Document, value: unknown): unknown {
  return isAlias(value) ? value.resolve(doc) : value;
}

/** "a mapping", "a list", "the scalar \"x\"", "nothing": what a merge key was given instead of a mapping. */
function mergeSourceText(node: unknown): string {
  if (node === null || node === undefined) return 'nothing';
  if (isSeq(node)) return 'a list';
  if (isScalar(node)) return node.value === null ? 'nothing' : `the value ${quoted(String(node.value))}`;
  return 'something else';
}

/**
 * Merge keys (`<<:`) given something other than a mapping, an alias of one,
 * or a list of those: yaml throws a bare "Merge sources must be maps or map
 * aliases" from toJS for them, with no line. Each is named with its line.
 */
export function mergeKeyProblems(doc: Document, lineCounter: LineCounter): string[] {
  const out: string[] = [];
  if (!isDocument(doc)) return out;
  visit(doc, {
    Pair(_, pair) {
      if (!isScalar(pair.key) || (pair.key.value !== '<<' && !(typeof pair.key.value === 'symbol' && pair.key.value.description === '<<'))) return;
      const value = mergedNode(doc, pair.value);
      const items = isSeq(value) ? value.items.map((it) => mergedNode(doc, it)) : [value];
      const bad = items.find((it) => !isMap(it));
      if (bad === undefined) return;
      const start = (pair.key as Node).range?.[0];
      const where = start === undefined ? '' : ` at line ${lineCounter.linePos(start).line}`;
      out.push(`YAML: the merge key "<<"${where} takes a mapping, an alias of one (*NAME), or a list of those; it was given ${mergeSourceText(bad)}`);
    },
  });
  return out;
}
