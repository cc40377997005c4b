// A conformance requirement and how one is run. Each requirement names its
// RFC and section or REQ number, says in one line what the RFC asks, and
// checks it by sending packets through a fresh dataplane (session.ts): it
// passes when every check holds. What went in and came out is its evidence.
import { ConformanceFailure, Session, type Tamper } from './session.js';

export type Rfc = 1812 | 4787 | 5382 | 5508;
export const RFCS: readonly Rfc[] = [1812, 4787, 5382, 5508];

export interface CaseContext {
  /** A fresh dataplane with the requirement's config, or another (a case that compares two). */
  session(yaml?: string): Session;
}

export interface Requirement {
  rfc: Rfc;
  /** "REQ-1", "REQ-8a", or an RFC 1812 section "5.3.1". */
  id: string;
  /** What the RFC asks, in one line. */
  text: string;
  /** The router config (YAML) the case runs on. */
  config: string;
  /** Sends the packets and checks what comes out; throws ConformanceFailure when the dataplane does not do what the RFC asks. */
  check(ctx: CaseContext): void;
}

export interface Row {
  rfc: Rfc;
  id: string;
  /** "RFC 4787 REQ-1" */
  requirement: string;
  text: string;
  pass: boolean;
  /** The packets in and out, one step a line ("in lan: ...; out wan: ..."), and notes on the tables. */
  evidence: string[];
  /** Why it failed. */
  failure?: string;
}

export interface RunOptions {
  /** Replaces each requirement's config (a test proving a row can fail). */
  config?: (yaml: string, r: Requirement) => string;
  /** Changes every frame on its way in. */
  tamper?: Tamper;
}

export function label(r: Pick<Requirement, 'rfc' | 'id'>): string {
  return `RFC ${r.rfc} ${/^\d/.test(r.id) ? `section ${r.id}` : r.id}`;
}

/** Runs one requirement in fresh dataplanes; a check that fails, or a config or case that throws, fails the row. */
export function runRequirement(r: Requirement, opts: RunOptions = {}): Row {
  const evidence: string[] = [];
  const row: Row = { rfc: r.rfc, id: r.id, requirement: label(r), text: r.text, pass: false, evidence };
  const config = opts.config ? opts.config(r.config, r) : r.config;
  try {
    r.check({ session: (yaml = config) => new Session(yaml, evidence, opts.tamper) });
    row.pass = true;
  } catch (e) {
    row.failure = e instanceof ConformanceFailure ? e.message : `error: ${e instanceof Error ? e.message : String(e)}`;
  }
  return row;
}

export function runAll(requirements: readonly Requirement[], opts: RunOptions = {}): Row[] {
  return requirements.map((r) => runRequirement(r, opts));
}
