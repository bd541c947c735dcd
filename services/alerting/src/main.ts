#!/usr/bin/env node
// alerting's process: the kernel runs the wiring in compose.ts (exit codes: docs/operations.md).
import { runService } from '@paysync/observability';
import { alertingService } from './compose.ts';

await runService(alertingService);
