/**
 * One way to run the `msp` CLI from the extension: no shell, the safe-path environment, an
 * optional stdin, and a deadline. Trust Folder Configuration and Set Credential both use it.
 * No vscode import.
 */

import { spawn } from 'node:child_process';

import { childEnv } from './interpreter';

export interface CliRun {
    code: number | null;
    stdout: string;
    stderr: string;
    /** The deadline passed and the child was killed (`code` is null). */
    timedOut?: boolean;
}

/** Run the `msp` CLI; `input` is written to its stdin (a secret never goes in argv). Never throws. */
export function runCli(
    cli: { command: string; args: string[] },
    args: string[],
    options: { cwd?: string; timeoutMs?: number; input?: string } = {},
): Promise<CliRun> {
    return new Promise((resolve) => {
        let stdout = '';
        let stderr = '';
        let settled = false;
        const done = (run: CliRun): void => {
            if (!settled) {
                settled = true;
                clearTimeout(timer);
                resolve(run);
            }
        };
        const child = spawn(cli.command, [...cli.args, ...args], {
            cwd: options.cwd,
            env: childEnv(),
            stdio: [options.input === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'],
            windowsHide: true,
        });
        const timer = setTimeout(() => {
            child.kill();
            done({ code: null, stdout, stderr: `${stderr}\ndid not finish in time`, timedOut: true });
        }, options.timeoutMs ?? 30_000);
        child.stdout?.on('data', (d: Buffer) => (stdout += d.toString()));
        child.stderr?.on('data', (d: Buffer) => (stderr += d.toString()));
        child.on('error', (error) => done({ code: null, stdout, stderr: `cannot run ${cli.command}: ${error.message}` }));
        child.on('close', (code) => done({ code, stdout, stderr }));
        if (options.input !== undefined && child.stdin) {
            child.stdin.on('error', () => undefined); // a CLI that exits early closes its stdin
            child.stdin.end(options.input);
        }
    });
}

/** The CLI's own message (its last stderr line), or why it failed. */
export function cliFailure(run: CliRun): string {
    const last = run.stderr.split('\n').map((l) => l.trim()).filter(Boolean).pop();
    return (last ?? `exit code ${String(run.code)}`).replace(/^msp: /, '');
}
