#!/usr/bin/env node
// payctl: Node 24 runs this file as is (no build step).
import { runPayctl } from './program.ts';

process.exitCode = await runPayctl(process.argv.slice(2));
