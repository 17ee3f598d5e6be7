/**
 * Every command group of `onepad`, in `onepad help` order. Importing this file runs nothing.
 */
import { chatCommands } from '../../client/cli.js';
import { hrngCommands } from '../../hrng/cli.js';
import { pairingCommands } from '../../provisioning/cli.js';
import { rpcCommands } from '../../rpc/cli.js';
import type { CommandGroup } from '../cli/command.js';
import { demoCommand } from '../cli/demo.js';
import { offlineCommands, padCommands } from '../cli/pad-commands.js';
import { deviceCommand } from './device-command.js';
import { openHostedScreen } from './screen-factory.js';
import { simulatorCommands } from './simulator/cli.js';

export const GROUPS: readonly CommandGroup[] = [
  { name: '', topLevel: true, commands: [demoCommand, deviceCommand(openHostedScreen)] },
  rpcCommands,
  pairingCommands,
  simulatorCommands,
  chatCommands,
  hrngCommands,
  padCommands,
  offlineCommands,
];
