/**
 * Set Credential: the secret goes to `msp credentials set NAME` on stdin. It never travels over
 * LSP, never appears in argv, and is never logged (nor is the CLI's output echoed unscrubbed).
 */

import { spawn } from 'node:child_process';

import { childEnv } from './interpreter';

/** Credential names the built-in integrations use (docs/adapters). */
export const KNOWN_CREDENTIALS = ['linear-api-key', 'slack-webhook', 'jira-api-token', 'neo4j-password'];

export interface CliResult {
    ok: boolean;
    /** For the user: never contains the secret. */
    message: string;
    /** The CLI has no `credentials` command (an older msp). */
    unsupported: boolean;
}

/** Replace every occurrence of the secret (and long fragments of it) with ***. */
export function scrub(text: string, secret: string): string {
    if (!secret) {
        return text;
    }
    let out = text.split(secret).join('***');
    const trimmed = secret.trim();
    if (trimmed && trimmed !== secret) {
        out = out.split(trimmed).join('***');
    }
    return out;
}

export function setCredential(
    cli: { command: string; args: string[] },
    name: string,
    secret: string,
    options: { cwd?: string; workspace?: string; timeoutMs?: number } = {},
): Promise<CliResult> {
    const where = options.workspace ? ['--workspace', options.workspace] : [];
    const args = [...cli.args, ...where, 'credentials', 'set', name];
    return new Promise((resolve) => {
        let stderr = '';
        let stdout = '';
        let settled = false;
        const done = (result: CliResult): void => {
            if (!settled) {
                settled = true;
                clearTimeout(timer);
                resolve(result);
            }
        };
        const child = spawn(cli.command, args, {
            cwd: options.cwd,
            env: childEnv(),
            stdio: ['pipe', 'pipe', 'pipe'],
            windowsHide: true,
        });
        const timer = setTimeout(() => {
            child.kill();
            done({ ok: false, message: `\`msp credentials set\` did not finish in time`, unsupported: false });
        }, options.timeoutMs ?? 30_000);
        child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
        child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
        child.on('error', (error) =>
            done({ ok: false, message: `cannot run ${cli.command}: ${error.message}`, unsupported: false }),
        );
        child.on('close', (code) => {
            const output = scrub(`${stderr}\n${stdout}`, secret).trim();
            if (code === 0) {
                done({ ok: true, message: output, unsupported: false });
                return;
            }
            const unsupported = /invalid choice: ['"]?credentials/.test(output);
            const last = output.split('\n').filter(Boolean).pop() ?? `exit code ${code}`;
            done({ ok: false, message: last.replace(/^msp: /, ''), unsupported });
        });
        child.stdin.on('error', () => undefined); // a CLI that exits early closes its stdin
        child.stdin.end(secret.endsWith('\n') ? secret : `${secret}\n`);
    });
}
