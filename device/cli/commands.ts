/**
 * Every command group of `onepad`, in `onepad help` order. Importing this file runs nothing.
 */
import { chatCommands } from '../../client/cli.js';
import { simulatorCommands } from '../../client/simulator/cli.js';
import { hrngCommands } from '../../hrng/cli.js';
import { pairingCommands } from '../../provisioning/cli.js';
import { rpcCommandGroup } from '../../rpc/cli.js';
import { openHostedScreen } from '../screen-factory.js';
import type { CommandGroup } from './command.js';
import { demoCommand } from './demo.js';
import { offlineCommands, padCommands } from './pad-commands.js';

export const GROUPS: readonly CommandGroup[] = [
  { name: '', topLevel: true, commands: [demoCommand] },
  rpcCommandGroup(openHostedScreen),
  pairingCommands,
  simulatorCommands,
  chatCommands,
  hrngCommands,
  padCommands,
  offlineCommands,
];
