/**
 * Context keys for `when` and `enablement` clauses (package.json): `msp.serverRunning`,
 * `msp.sessionState` (idle / active / crashed, of the folder the status bar is about) and
 * `msp.hasOpenBlockers`. Set with `setContext` only when a value changes.
 */

import * as vscode from 'vscode';

import { ServerState } from './statusModel';
import { SessionChanged, SessionState } from './wire';

export const CONTEXT_KEYS = {
    serverRunning: 'msp.serverRunning',
    sessionState: 'msp.sessionState',
    hasOpenBlockers: 'msp.hasOpenBlockers',
} as const;

export interface ContextInput {
    server: ServerState;
    change?: SessionChanged;
}

/** The keys' values for a server state and the current folder's last msp/sessionChanged. */
export function contextValues(input: ContextInput): Record<string, boolean | SessionState> {
    const state: SessionState = input.change?.session ? input.change.state : 'idle';
    return {
        [CONTEXT_KEYS.serverRunning]: input.server === 'running',
        [CONTEXT_KEYS.sessionState]: state,
        [CONTEXT_KEYS.hasOpenBlockers]: state === 'active' && (input.change?.session?.openBlockers ?? 0) > 0,
    };
}

export class ContextKeys {
    private readonly set = new Map<string, unknown>();

    /** Push the values that changed since the last call. */
    update(input: ContextInput): void {
        for (const [key, value] of Object.entries(contextValues(input))) {
            if (this.set.has(key) && this.set.get(key) === value) {
                continue;
            }
            this.set.set(key, value);
            void vscode.commands.executeCommand('setContext', key, value);
        }
    }
}
