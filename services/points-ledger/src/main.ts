#!/usr/bin/env node
// points-ledger's process: the kernel runs the wiring in compose.ts (exit codes: docs/operations.md).
import { runService } from '@paysync/observability';
import { ledgerService } from './compose.ts';

await runService(ledgerService);
