// SIGHUP in `dataplane run`: the config file again, whole, as `dataplane ctl
// reload` applies it (ControlPlane.reload: parsed and checked first, diffed
// against the running config, applied all or nothing as new table
// generations while packets flow). Before the control API existed, SIGHUP
// reloaded only the `loadBalancer:` section and ignored the rest of the file
// silently; now a file whose other sections changed is applied too, or
// refused whole when a change needs a restart, saying which.
//
// Signals can come faster than a reload finishes: ControlPlane's changes are
// serialized by the Dataplane, and a SIGHUP that arrives while one is being
// applied reads the file again after it (one more at most: the file is read
// when its turn comes, so two queued signals would apply the same file).
import { ControlError, type ControlPlane } from '../control/control-plane.js';

type Log = (text: string, obj: Record<string, unknown>) => void;

/** ControlPlane's refusal of a change that needs a restart starts with this; the SIGHUP line says "nothing changed" already. */
const NOTHING_APPLIED = 'nothing applied: ';

export class SighupReload {
  private running: Promise<void> | undefined;
  private again = false;

  constructor(
    private readonly plane: Pick<ControlPlane, 'reload'>,
    private readonly file: string,
    private readonly log: Log,
  ) {}

  /** The signal handler: starts a reload, or queues one after the reload in progress. Resolves when the file has been applied or refused. */
  readonly onSignal = (): Promise<void> => {
    if (this.running !== undefined) {
      this.again = true;
      return this.running;
    }
    this.running = this.loop().finally(() => (this.running = undefined));
    return this.running;
  };

  private async loop(): Promise<void> {
    do {
      this.again = false;
      await this.once();
    } while (this.again);
  }

  private async once(): Promise<void> {
    try {
      const applied = await this.plane.reload({ path: this.file });
      const what = applied.length === 0 ? 'no change' : applied.join('; ');
      this.log(`SIGHUP: ${this.file} reloaded: ${what}`, { event: 'reloaded', file: this.file, changes: applied });
    } catch (e) {
      const raw = e instanceof ControlError || e instanceof Error ? e.message : String(e);
      const message = raw.startsWith(NOTHING_APPLIED) ? raw.slice(NOTHING_APPLIED.length) : raw;
      this.log(`SIGHUP: ${this.file} not reloaded (nothing changed): ${message}`, { event: 'reload-failed', file: this.file, message });
    }
  }
}
