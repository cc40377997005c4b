// The YAML reader's errors as the config loader words them: yaml's own
// messages speak to programmers ("please use YAML.parseAllDocuments()",
// "Maximum call stack size exceeded", "Set mapAsMap: true") and end in a
// dangling "at line L, column C:" whose code snippet is cut off here. Each
// becomes "YAML: what is wrong at line L, column C", and what yaml only warns
// about on stderr (a list or mapping used as a key) is a problem too.
import { isCollection, isDocument, visit, type Document, type LineCounter, type YAMLError } from 'yaml';
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
