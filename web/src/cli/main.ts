#!/usr/bin/env node
// `tokenserver`: the one command-line entry point; each subcommand group registers itself here.
import { EXIT_CONFIG } from '@tokenserver/shared';
import { Command } from 'commander';
import { registerDbCommands } from './db.js';
import { registerDevCommands } from './dev.js';
import { registerHawkRequestCommand } from './hawk-request.js';
import { registerNodeCommands } from './node.js';
import { registerPurgeCommand } from './purge.js';
import { registerServiceCommands } from './service.js';
import { registerStartCommand } from './start.js';
import { registerUserCommands } from './user.js';

// Usage errors are one "error: …" line and exit 2 (no help dump after it: scripts and cron mails stay readable).
const program = new Command('tokenserver')
  .description('Token Server: run the stack and operate it')
  .exitOverride((err) => process.exit(err.exitCode === 0 ? 0 : EXIT_CONFIG));
registerStartCommand(program);
registerDevCommands(program);
registerHawkRequestCommand(program);
registerServiceCommands(program);
registerNodeCommands(program);
registerUserCommands(program);
registerPurgeCommand(program);
registerDbCommands(program);

await program.parseAsync();
