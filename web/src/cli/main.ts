#!/usr/bin/env node
// `tokenserver`: the one command-line entry point; each subcommand group registers itself here.
import { EXIT_CONFIG } from '@tokenserver/shared';
import { Command } from 'commander';
import { registerDevCommands } from './dev.js';
import { registerStartCommand } from './start.js';

const program = new Command('tokenserver')
  .description('Token Server: run the stack and operate it')
  .showHelpAfterError()
  .exitOverride((err) => process.exit(err.exitCode === 0 ? 0 : EXIT_CONFIG));
registerStartCommand(program);
registerDevCommands(program);

await program.parseAsync();
