// NetworkPolicy objects as the user gives them: inline (`networkPolicies:`)
// or in a file (`networkPolicyFile:`) as `kubectl get netpol -A -o yaml`
// writes it (a List, or a NetworkPolicyList) or as manifests are kept (one
// object per YAML document, `---` between them). Each object is checked on
// its own with networkPolicySchema, so one broken policy does not hide the
// problems of the others; a problem in the file names the file and the
// document (0-based, as `documents[1].items[0].spec...`).
import { readFileSync, statSync } from 'node:fs';
import { fileErrorReason } from './file-error.js';
import { textOf } from './text-file.js';
import { resolve } from 'node:path';
import { LineCounter, parseAllDocuments } from 'yaml';
import { aliasErrorText, collectionKeyProblems, mergeKeyProblems, TOO_DEEP, yamlErrorText } from './yaml-problems.js';
import { MAX_YAML_ALIASES, YAML_PARSE_OPTIONS, YAML_TO_JS_OPTIONS } from './yaml-options.js';
import type { z } from 'zod';
import { networkPolicySchema, type FirewallSource, type NetworkPolicy } from './firewall-schema.js';
import { issueMessage } from './zod-issue.js';

/** Far more than any cluster's policies; a file bigger than this is not one. */
const MAX_POLICY_FILE_BYTES = 64 * 2 ** 20;

export interface SourcedPolicy {
  policy: NetworkPolicy;
  /** How problems name it: "networkPolicies[2]" or "networkPolicyFile: FILE documents[0].items[3]". */
  field: string;
}

function pathText(prefix: string, path: readonly PropertyKey[]): string {
  let out = prefix;
  for (const p of path) out += typeof p === 'number' ? `[${p}]` : `.${String(p)}`;
  return out;
}

function issueText(prefix: string, issue: z.core.$ZodIssue): string {
  const at = pathText(prefix, issue.path);
  if (issue.code === 'unrecognized_keys') return `${at}: unknown field${issue.keys.length > 1 ? 's' : ''} ${issue.keys.map((k) => `"${k}"`).join(', ')}`;
  return `${at}: ${issueMessage(issue)}`;
}

/** One object checked; undefined (after its problems) when it is not a valid NetworkPolicy. */
function checkPolicy(value: unknown, field: string, problems: string[]): SourcedPolicy | undefined {
  const r = networkPolicySchema.safeParse(value);
  if (r.success) return { policy: r.data, field };
  for (const issue of r.error.issues) problems.push(issueText(field, issue));
  return undefined;
}

function readPolicyFile(path: string, problems: string[]): string | undefined {
  try {
    const st = statSync(path);
    if (!st.isFile()) problems.push(`networkPolicyFile: ${path} is not a regular file`);
    else if (st.size > MAX_POLICY_FILE_BYTES) problems.push(`networkPolicyFile: ${path} is ${st.size} bytes; the most that is read is ${MAX_POLICY_FILE_BYTES}`);
    else {
      const text = textOf(readFileSync(path), path, 'of YAML');
      if (typeof text === 'string') return text;
      problems.push(`networkPolicyFile: ${text.problem}`);
    }
  } catch (e) {
    problems.push(`networkPolicyFile: cannot read ${path}: ${fileErrorReason(e)}`);
  }
  return undefined;
}

/** The policies of a multi-document YAML text; `where` names the file in problems. */
export function policiesOfText(text: string, where: string, problems: string[]): SourcedPolicy[] {
  const out: SourcedPolicy[] = [];
  // Lines count from the file's start, so a problem in any document names its line in the file.
  const lineCounter = new LineCounter();
  parseAllDocuments(text, { ...YAML_PARSE_OPTIONS, prettyErrors: true, lineCounter }).forEach((doc, d) => {
    const at = `networkPolicyFile: ${where} documents[${d}]`;
    if (doc.errors.length > 0) {
      for (const e of doc.errors) problems.push(`${at}: ${yamlErrorText(e, 1)}`);
      return;
    }
    // What the config loader refuses in YAML (a list as a key, a merge key given a scalar), refused here with the line.
    const keyProblems = [...collectionKeyProblems(doc, lineCounter), ...mergeKeyProblems(doc, lineCounter)];
    if (keyProblems.length > 0) {
      for (const k of keyProblems) problems.push(`${at}: ${k}`);
      return;
    }
    let js: unknown;
    try {
      js = doc.toJS(YAML_TO_JS_OPTIONS);
    } catch (e) {
      const text = e instanceof ReferenceError ? aliasErrorText(e, MAX_YAML_ALIASES) : e instanceof RangeError && /call stack/.test(e.message) ? TOO_DEEP : `YAML: ${e instanceof Error ? e.message.split('\n')[0] : String(e)}`;
      problems.push(`${at}: ${text}`);
      return;
    }
    if (js === null || js === undefined) return; // an empty document (a trailing ---)
    const kind = (js as { kind?: unknown }).kind;
    if (kind === 'List' || kind === 'NetworkPolicyList') {
      const items = (js as { items?: unknown }).items;
      if (!Array.isArray(items)) problems.push(`${at}.items: a ${kind} needs a list of items`);
      else items.forEach((item, k) => {
        const p = checkPolicy(item, `${at}.items[${k}]`, problems);
        if (p !== undefined) out.push(p);
      });
      return;
    }
    if (kind !== undefined && kind !== 'NetworkPolicy') {
      problems.push(`${at}.kind: ${JSON.stringify(kind)} is not a NetworkPolicy (or a List of them)`);
      return;
    }
    const p = checkPolicy(js, at, problems);
    if (p !== undefined) out.push(p);
  });
  return out;
}

/** Every NetworkPolicy of the config, inline ones first, each checked by the schema. */
export function policiesOf(raw: FirewallSource, configDir: string, problems: string[]): SourcedPolicy[] {
  const out: SourcedPolicy[] = [];
  (raw.networkPolicies ?? []).forEach((v, i) => {
    const p = checkPolicy(v, `networkPolicies[${i}]`, problems);
    if (p !== undefined) out.push(p);
  });
  if (raw.networkPolicyFile !== undefined) {
    const text = readPolicyFile(resolve(configDir, raw.networkPolicyFile), problems);
    if (text !== undefined) out.push(...policiesOfText(text, raw.networkPolicyFile, problems));
  }
  return out;
}
