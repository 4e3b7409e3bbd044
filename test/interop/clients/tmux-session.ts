/**
 * One program in a private tmux server (its own socket, no user config): what the desktop-client
 * drivers (mcabber.ts, profanity.ts) type into and read from. The target is exact
 * (`=name:`), so a similarly named session elsewhere is never hit.
 */
import { execFile, execFileSync } from 'node:child_process';
import { promisify } from 'node:util';

const execFileP = promisify(execFile);

/** A tmux session `name` on the server at `socket`. */
export class TmuxSession {
  constructor(
    readonly socket: string,
    readonly name: string,
  ) {}

  get #target(): string {
    return `=${this.name}:`;
  }

  /**
   * Starts `command` (a shell line) in a detached session of `width` x `height` and returns the
   * pane's pid. `-u` and a UTF-8 locale: the pane must show non-ASCII text as is (CI has no
   * locale set).
   */
  async start(command: string, width: number, height: number): Promise<number> {
    await execFileP('tmux', [
      '-u', '-S', this.socket, '-f', '/dev/null', 'new-session', '-d', '-s', this.name, '-x', String(width), '-y', String(height), command,
    ], { env: { ...process.env, LANG: 'C.UTF-8', LC_ALL: 'C.UTF-8', TERM: process.env['TERM'] ?? 'xterm-256color' } });
    const { stdout } = await execFileP('tmux', ['-S', this.socket, 'display-message', '-p', '-t', this.#target, '#{pane_pid}']);
    return Number.parseInt(stdout.trim(), 10);
  }

  /** Types `text` literally into the pane (no Enter). */
  async keys(text: string): Promise<void> {
    await execFileP('tmux', ['-S', this.socket, 'send-keys', '-t', this.#target, '-l', '--', text]);
  }

  /** Presses named keys (tmux key names: `Enter`, `Escape`, `C-l`, ...). */
  async press(...keys: string[]): Promise<void> {
    await execFileP('tmux', ['-S', this.socket, 'send-keys', '-t', this.#target, ...keys]);
  }

  /** The visible pane (wrapped lines joined). */
  async capture(): Promise<string> {
    const { stdout } = await execFileP('tmux', ['-S', this.socket, 'capture-pane', '-p', '-J', '-t', this.#target]);
    return stdout;
  }

  /** Kills the private server (and what still runs in it); no error if it is gone. */
  async killServer(): Promise<void> {
    await execFileP('tmux', ['-S', this.socket, 'kill-server']).catch(() => undefined);
  }

  /** {@link killServer} for exit handlers, which cannot wait. */
  killServerSync(): void {
    try {
      execFileSync('tmux', ['-S', this.socket, 'kill-server'], { stdio: 'ignore' });
    } catch {
      // no server
    }
  }
}
