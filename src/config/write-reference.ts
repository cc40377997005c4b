// `npm run docs:config`: writes docs/CONFIG-REFERENCE.md (reference.ts) into
// the package this module belongs to (the parent of its proto/ directory).
import { writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { protoDir } from './proto-schema.js';
import { renderConfigReference } from './reference.js';

const target = join(dirname(protoDir()), 'docs', 'CONFIG-REFERENCE.md');
writeFileSync(target, renderConfigReference());
console.log(`wrote ${target}`);
