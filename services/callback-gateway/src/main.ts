#!/usr/bin/env node
// callback-gateway's process: the kernel runs the wiring in compose.ts (exit codes: docs/operations.md).
import { runService } from '@paysync/observability';
import { gatewayService } from './compose.ts';

await runService(gatewayService);
