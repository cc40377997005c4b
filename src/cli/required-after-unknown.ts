// commander checks a command's required options before its unknown ones, so
// a misspelt required option (`replay ... --output x` for `--out`) was
// reported as "required option '-o, --out <file>' not specified", with no
// word about the option the user did type. Here every command's required
// options are checked in a preAction hook instead: after commander has
// refused an unknown option (with its "Did you mean --out?"), before the
// action runs, with commander's own message.
import type { Command } from 'commander';

export function checkRequiredAfterUnknown(program: Command): void {
  const walk = (cmd: Command): void => {
    const required = cmd.options.filter((o) => o.mandatory);
    for (const o of required) o.makeOptionMandatory(false);
    if (required.length > 0) {
      cmd.hook('preAction', (_, action) => {
        if (action !== cmd) return;
        for (const o of required) {
          if (cmd.getOptionValue(o.attributeName()) === undefined) cmd.error(`error: required option '${o.flags}' not specified`, { code: 'commander.missingMandatoryOptionValue' });
        }
      });
    }
    for (const sub of cmd.commands) walk(sub);
  };
  walk(program);
}
