import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import {
    formatAgo,
    formatElapsed,
    nextActions,
    parseSyncStatus,
    renderStatus,
    StatusInput,
} from '../src/statusModel';
import { SessionChanged } from '../src/wire';

const NOW = new Date('2026-03-02T10:12:30Z');

function active(over: Partial<NonNullable<SessionChanged['session']>> = {}, state: SessionChanged['state'] = 'active'): SessionChanged {
    return {
        folderUri: 'file:///work/app',
        state,
        session: {
            id: 'msp-2026-03-02-090000',
            project: 'app',
            status: 'active',
            progress: 45,
            startProgress: 40,
            endProgress: null,
            startTime: '2026-03-02T09:00:00Z',
            endTime: null,
            lastActivity: '2026-03-02T10:07:00Z',
            duration: 1.2,
            openBlockers: 0,
            counts: { updates: 3, decisions: 1, blockers: 0, entities: 2 },
            goal: 'Password reset',
            ...over,
        },
    };
}

const running = (change?: SessionChanged, extra: Partial<StatusInput> = {}): StatusInput => ({
    server: 'running',
    change,
    ...extra,
});

describe('elapsed time', () => {
    it('reads like a status bar has room for', () => {
        const min = 60_000;
        assert.equal(formatElapsed(0), '0m');
        assert.equal(formatElapsed(59_999), '0m');
        assert.equal(formatElapsed(12 * min), '12m');
        assert.equal(formatElapsed(60 * min), '1h');
        assert.equal(formatElapsed(72 * min), '1h 12m');
        assert.equal(formatElapsed(26 * 60 * min), '1d 2h');
        assert.equal(formatElapsed(48 * 60 * min), '2d');
        assert.equal(formatElapsed(-5 * min), '0m', 'a clock skew never shows a negative time');
    });

    it('says how long ago the last update was', () => {
        assert.equal(formatAgo('2026-03-02T10:12:00Z', NOW), 'just now');
        assert.equal(formatAgo('2026-03-02T10:07:00Z', NOW), '5m ago');
        assert.equal(formatAgo(null, NOW), 'never');
    });
});

describe('status bar text', () => {
    it('shows progress and elapsed time of an active session: "MSP 45% · 1h 12m"', () => {
        const view = renderStatus(running(active()), NOW);
        assert.equal(view.text, '$(pulse) MSP 45% · 1h 12m');
        assert.equal(view.label, 'MSP: active session, 45%, running 1h 12m');
        assert.equal(view.background, 'none');
        assert.match(view.tooltip, /Goal: Password reset/);
        assert.match(view.tooltip, /Last update: 5m ago/);
        assert.match(view.tooltip, /3 updates · 1 decision · 0 blockers \(0 open\) · 2 entities/);
    });

    it('moves with the clock alone (the minute tick re-renders from startTime)', () => {
        const later = new Date(NOW.getTime() + 60_000);
        assert.equal(renderStatus(running(active()), later).text, '$(pulse) MSP 45% · 1h 13m');
    });

    it('warns about open blockers', () => {
        const view = renderStatus(running(active({ openBlockers: 2 })), NOW);
        assert.equal(view.text, '$(warning) MSP 45% · 1h 12m · 2 blockers');
        assert.equal(view.background, 'warning');
        assert.match(view.label, /2 open blockers/);
    });

    it('is an empty circle when no session is active', () => {
        const view = renderStatus(running({ folderUri: 'file:///w', state: 'idle', session: null }), NOW);
        assert.equal(view.text, '$(circle-large-outline) MSP');
        assert.equal(view.label, 'MSP: no active session');
    });

    it('marks a crashed session in red', () => {
        const view = renderStatus(running(active({}, 'crashed')), NOW);
        assert.equal(view.text, '$(debug-disconnect) MSP crashed 45%');
        assert.equal(view.background, 'error');
        assert.match(view.tooltip, /recover or end it/);
    });

    it('shows the outbox depth and failed deliveries', () => {
        const sync = { depth: 3, dead: 0, errors: [{ target: 'slack', message: '429 Too Many Requests' }] };
        const view = renderStatus(running(active(), { sync }), NOW);
        assert.equal(view.text, '$(pulse) MSP 45% · 1h 12m · $(sync-ignored) 1 failed · $(cloud-upload) 3');
        assert.equal(view.background, 'warning');
        assert.match(view.tooltip, /3 payloads waiting in the outbox/);
        assert.match(view.tooltip, /slack: 429 Too Many Requests/);
    });

    it('says when the server is starting or not running', () => {
        assert.equal(renderStatus({ server: 'starting' }, NOW).text, '$(sync~spin) MSP');
        const failed = renderStatus({ server: 'failed', change: active() }, NOW);
        assert.equal(failed.text, '$(error) MSP off');
        assert.equal(failed.background, 'error');
    });

    it('names the folder in a multi-root window', () => {
        const view = renderStatus(running(active(), { folderName: 'api', multiRoot: true }), NOW);
        assert.equal(view.text, '$(pulse) MSP (api) 45% · 1h 12m');
    });

    it('escapes Markdown in user text of the tooltip', () => {
        const view = renderStatus(running(active({ goal: 'fix [link](http://x) *now*' })), NOW);
        assert.match(view.tooltip, /fix \\\[link\\\]\\\(http:\/\/x\\\) \\\*now\\\*/);
    });
});

describe('next actions (status bar click)', () => {
    it('offers to start when idle and to record when active', () => {
        assert.equal(nextActions(running({ folderUri: 'f', state: 'idle', session: null }))[0], 'startSession');
        const actions = nextActions(running(active()));
        assert.deepEqual(actions.slice(0, 2), ['updateProgress', 'recordDecision']);
        assert.ok(actions.includes('endSession'));
        assert.ok(!actions.includes('resolveBlocker'), 'no blocker to resolve');
    });

    it('puts Resolve Blocker up front when one is open, Recover when crashed', () => {
        assert.equal(nextActions(running(active({ openBlockers: 1 })))[2], 'resolveBlocker');
        assert.deepEqual(nextActions(running(active({}, 'crashed'))).slice(0, 2), ['recoverSession', 'endSession']);
    });

    it('offers Restart Server when the server is down, Flush Outbox on sync errors', () => {
        assert.deepEqual(nextActions({ server: 'failed' }), ['restartServer', 'showLog']);
        const sync = { depth: 0, dead: 1, errors: [{ target: 'jira', message: '401' }] };
        assert.ok(nextActions(running(active(), { sync })).includes('flushOutbox'));
    });
});

describe('msp/syncStatus parsing', () => {
    it('reads the outbox depth, dead letters and the last error per integration', () => {
        const { folderUri, sync } = parseSyncStatus({
            folderUri: 'file:///w',
            integrations: {
                slack: { generated: 0, queued: 2, sent: 5, dead: 0, inFlight: 1, nextAttemptAt: null, lastError: 'HTTP 500' },
                linear: { generated: 1, queued: 0, sent: 3, dead: 1, inFlight: 0, nextAttemptAt: null, lastError: null },
            },
            queued: 2,
            inFlight: 1,
            dead: 1,
            sent: 8,
            generated: 1,
        });
        assert.equal(folderUri, 'file:///w');
        assert.deepEqual(sync, { depth: 2, dead: 1, errors: [{ target: 'slack', message: 'HTTP 500' }] });
    });

    it('ignores what it does not know', () => {
        assert.deepEqual(parseSyncStatus({ queued: 'x', integrations: [1] }).sync, { depth: 0, dead: 0, errors: [] });
        assert.deepEqual(parseSyncStatus('nonsense').sync, { depth: 0, dead: 0, errors: [] });
    });

    it('shows undeliverable payloads even without a last error', () => {
        const view = renderStatus(running(active(), { sync: { depth: 0, dead: 2, errors: [] } }), NOW);
        assert.equal(view.text, '$(pulse) MSP 45% · 1h 12m · $(sync-ignored) 2 failed');
        assert.match(view.tooltip, /2 payloads undeliverable/);
    });
});

describe('Restricted Mode (an untrusted workspace)', () => {
    it('says so in the text, the label and the tooltip', () => {
        const idle = renderStatus(running({ folderUri: 'file:///w', state: 'idle', session: null }, { restricted: true }), NOW);
        assert.equal(idle.text, '$(circle-large-outline) MSP (restricted)');
        assert.equal(idle.label, 'MSP (restricted): no active session');
        assert.match(idle.tooltip, /Restricted Mode\*\*: MSP records and generates payloads but does not deliver them/);
        assert.match(idle.tooltip, /ignores this folder's integration endpoints, modules and paths\. Trust the workspace to enable them\./);
        const busy = renderStatus(running(active(), { restricted: true }), NOW);
        assert.equal(busy.text, '$(pulse) MSP (restricted) 45% · 1h 12m');
        assert.match(busy.label, /^MSP \(restricted\): active session, 45%/);
    });

    it('names the folder and the mode together in a multi-root window', () => {
        const view = renderStatus(running(active(), { restricted: true, multiRoot: true, folderName: 'api' }), NOW);
        assert.match(view.text, /^\$\(pulse\) MSP \(api, restricted\) 45%/);
    });

    it('a trusted workspace shows nothing of it', () => {
        const view = renderStatus(running(active(), { restricted: false }), NOW);
        assert.equal(view.text, '$(pulse) MSP 45% · 1h 12m');
        assert.doesNotMatch(view.tooltip, /Restricted Mode/);
    });

    it('offers the trust command before the log', () => {
        const actions = nextActions(running({ folderUri: 'file:///w', state: 'idle', session: null }, { restricted: true }));
        assert.deepEqual(actions.slice(-2), ['trustFolderConfig', 'showLog']);
        assert.ok(!nextActions(running({ folderUri: 'file:///w', state: 'idle', session: null })).includes('trustFolderConfig'));
    });
});

describe('the failure badge counts only what needs the user (needsAction), and says which action', () => {
    const now = new Date('2026-03-02T10:12:00Z');
    const idle: SessionChanged = { folderUri: 'file:///w', state: 'idle', session: null };
    const sync = (needsAction: unknown) =>
        parseSyncStatus({ folderUri: 'file:///w', queued: 1, dead: 1, integrations: { obsidian: { lastError: 'heading missing' } }, retrying: 1, needsAction }).sync;

    it('a payload being retried by the worker is no badge', () => {
        const view = renderStatus({ server: 'running', change: idle, sync: sync({ total: 0, dead: 0, held: 0, blocked: 0, items: [] }) }, now);
        assert.doesNotMatch(view.text, /failed|to retry|need/);
        assert.equal(view.background, 'none');
    });

    it('dead payloads: "1 to retry", with the integration and action in the tooltip', () => {
        const needs = { total: 1, dead: 1, held: 0, blocked: 0, items: [{ integration: 'obsidian', action: 'retry', count: 1, payloads: ['pay-1'], reason: null }] };
        const view = renderStatus({ server: 'running', change: idle, sync: sync(needs) }, now);
        assert.match(view.text, /\$\(bell-dot\) 1 to retry/);
        assert.match(view.tooltip, /obsidian: 1 payload to retry/);
        assert.equal(view.background, 'warning');
    });

    it('different actions: "N need you"; a missing credential is named', () => {
        const needs = {
            total: 3,
            items: [
                { integration: 'slack', action: 'setCredential', count: 2, payloads: [], reason: 'slack-webhook is not set' },
                { integration: 'obsidian', action: 'retry', count: 1, payloads: ['pay-1'] },
            ],
        };
        const view = renderStatus({ server: 'running', change: idle, sync: sync(needs) }, now);
        assert.match(view.text, /3 need you/);
        assert.match(view.tooltip, /slack: 2 payloads need a credential — slack\\-webhook is not set/);
    });

    it('an older server without needsAction keeps the failed count', () => {
        const old = parseSyncStatus({ folderUri: 'file:///w', queued: 0, dead: 1, integrations: {} }).sync;
        assert.match(renderStatus({ server: 'running', change: idle, sync: old }, now).text, /1 failed/);
    });
});
