#!/usr/bin/env node
// prepack of every published package: copies the repository's LICENSE-MIT and LICENSE-APACHE into the package
// directory (the cwd), which lists them in `files`. Invariant: each tarball ships both texts of "MIT OR Apache-2.0".
import { copyFileSync } from 'node:fs';

for (const name of ['LICENSE-MIT', 'LICENSE-APACHE']) copyFileSync(new URL(`../${name}`, import.meta.url), name);
