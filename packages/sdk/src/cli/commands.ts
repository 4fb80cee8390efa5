import { API_COMMANDS } from './api-commands.js';
import type { Command } from './command.js';
import { evaluateCommand } from './evaluate.js';
import { trainCommand } from './train.js';

/** Every `contender` subcommand, in the order `contender --help` lists them. Add new ones here. */
export const COMMANDS: readonly Command[] = [trainCommand, evaluateCommand, ...API_COMMANDS];
