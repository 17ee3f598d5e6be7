/**
 * The chat's line commands, parsed without side effects (tests drive it with random lines).
 *
 *   @NAME text        /to NAME text       send to a contact
 *   /many A,B text                        send to several
 *   /group NAME A,B,C                     define a group
 *   #NAME text        /g NAME text        send to a group
 *   /contact NAME [DEVICE]                remember a contact (DEVICE: its name on the device)
 *   /contacts   /groups                   list
 *   (empty line)      /receive            receive now
 *   /help   /quit
 */

/** A parsed line. */
export type ChatCommand =
  | { readonly op: 'send'; readonly to: string; readonly text: string }
  | { readonly op: 'many'; readonly to: readonly string[]; readonly text: string }
  | { readonly op: 'group'; readonly name: string; readonly members: readonly string[] }
  | { readonly op: 'gsend'; readonly group: string; readonly text: string }
  | { readonly op: 'contact'; readonly name: string; readonly device?: string }
  | { readonly op: 'contacts' | 'groups' | 'receive' | 'help' | 'quit' }
  | { readonly op: 'invalid'; readonly reason: string };

/** Help text for people. */
export const COMMAND_HELP = [
  '@NAME text  or  /to NAME text     send to a contact',
  '/many A,B text                   send to several contacts',
  '/group NAME A,B,C                define a group',
  '#NAME text  or  /g NAME text      send to a group',
  '/contact NAME [DEVICE]           remember a contact',
  '/contacts  /groups               list them',
  'enter  or  /receive              receive now',
  '/quit',
].join('\n');

/** Split off the first word (names have no spaces in commands). */
function word(s: string): [string, string] {
  const t = s.replace(/^\s+/, '');
  const i = t.search(/\s/);
  return i < 0 ? [t, ''] : [t.slice(0, i), t.slice(i + 1)];
}

function list(s: string): string[] {
  return s.split(',').filter((x) => x.length > 0);
}

/** Parse one input line. Never throws. */
export function parseCommand(line: string): ChatCommand {
  const l = line.replace(/\r$/, '');
  if (l.trim() === '') return { op: 'receive' };
  if (l.startsWith('@')) {
    const [to, text] = word(l.slice(1));
    return to && text ? { op: 'send', to, text } : { op: 'invalid', reason: 'usage: @NAME text' };
  }
  if (l.startsWith('#')) {
    const [group, text] = word(l.slice(1));
    return group && text ? { op: 'gsend', group, text } : { op: 'invalid', reason: 'usage: #GROUP text' };
  }
  if (!l.startsWith('/')) return { op: 'invalid', reason: 'start with @NAME or #GROUP (/help lists commands)' };
  const [cmd, rest] = word(l.slice(1));
  switch (cmd) {
    case 'to': {
      const [to, text] = word(rest);
      return to && text ? { op: 'send', to, text } : { op: 'invalid', reason: 'usage: /to NAME text' };
    }
    case 'many': {
      const [names, text] = word(rest);
      const to = list(names);
      return to.length > 0 && text ? { op: 'many', to, text } : { op: 'invalid', reason: 'usage: /many A,B text' };
    }
    case 'group': {
      const [name, members] = word(rest);
      const m = list(members.trim());
      return name && m.length > 0 && !/\s/.test(members.trim())
        ? { op: 'group', name, members: m }
        : { op: 'invalid', reason: 'usage: /group NAME A,B,C' };
    }
    case 'g': {
      const [group, text] = word(rest);
      return group && text ? { op: 'gsend', group, text } : { op: 'invalid', reason: 'usage: /g GROUP text' };
    }
    case 'contact': {
      const [name, more] = word(rest);
      const [device, extra] = word(more);
      if (!name || extra.trim() !== '') return { op: 'invalid', reason: 'usage: /contact NAME [DEVICE]' };
      return device ? { op: 'contact', name, device } : { op: 'contact', name };
    }
    case 'contacts':
    case 'groups':
    case 'receive':
    case 'help':
    case 'quit':
      return rest.trim() === '' ? { op: cmd } : { op: 'invalid', reason: `usage: /${cmd}` };
    default:
      return { op: 'invalid', reason: 'unknown command (/help lists commands)' };
  }
}
