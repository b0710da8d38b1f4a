import { mock } from './vscodeMock';

import assert from 'node:assert/strict';
import { beforeEach, describe, it } from 'node:test';

import { entitiesMessage, Notifier } from '../src/notifications';
import { Payload } from '../src/wire';

const neo4j: Payload = {
    id: 'pay-1',
    integration: 'neo4j',
    hook: 'progress_updated',
    status: 'generated',
    kind: 'cypher',
    title: 'Progress node',
    statement: 'CREATE (p:Progress {value: $value})',
    parameters: { value: 45 },
};
const slack: Payload = {
    id: 'pay-2',
    integration: 'slack',
    hook: 'progress_updated',
    status: 'sent',
    kind: 'http',
    title: 'Slack notice',
    method: 'POST',
    url: { credential: 'slack-webhook' },
    json: { text: '45%' },
};
const event = { folderUri: 'file:///work/app', hook: 'progress_updated', payloads: [neo4j, slack] };

function notifier(canSend = true): { n: Notifier; sent: { folderUri: string; ids: string[] }[]; opened: string[][] } {
    const sent: { folderUri: string; ids: string[] }[] = [];
    const opened: string[][] = [];
    const n = new Notifier({
        canSend: () => canSend,
        sendPayloads: async (folderUri, payloads) => void sent.push({ folderUri, ids: payloads.map((p) => p.id) }),
        openPayloads: async (payloads) => void opened.push(payloads.map((p) => p.id)),
    });
    return { n, sent, opened };
}

describe('one notification per event, listing its payloads', () => {
    beforeEach(() => mock.reset());

    it('shows them with Copy, Open and Send', async () => {
        await notifier().n.payloadsGenerated(event);
        assert.equal(mock.shown.length, 1);
        assert.deepEqual(mock.shown[0], {
            kind: 'info',
            message: '2 payloads ready — Neo4j: progress node; Slack: notice',
            actions: ['Copy', 'Open', 'Send'],
        });
    });

    it('Copy puts the chosen payload on the clipboard', async () => {
        mock.buttons.push('Copy');
        mock.picks.push('Neo4j: progress node');
        await notifier().n.payloadsGenerated(event);
        assert.equal(mock.clipboard, 'CREATE (p:Progress {value: $value})\n\n// parameters\n{\n  "value": 45\n}\n');
    });

    it('Open shows the event’s payloads (read-only, virtualDocs.ts)', async () => {
        mock.buttons.push('Open');
        const { n, opened } = notifier();
        await n.payloadsGenerated(event);
        assert.deepEqual(opened, [['pay-1', 'pay-2']]);
    });

    it('Send delivers the ones not sent yet, for the event’s folder', async () => {
        mock.buttons.push('Send');
        const { n, sent } = notifier();
        await n.payloadsGenerated(event);
        assert.deepEqual(sent, [{ folderUri: 'file:///work/app', ids: ['pay-1'] }]);
    });

    it('offers no Send when everything was delivered already, or the server cannot send', async () => {
        await notifier().n.payloadsGenerated({ ...event, payloads: [slack] });
        assert.deepEqual(mock.shown[0].actions, ['Copy', 'Open']);
        await notifier(false).n.payloadsGenerated(event);
        assert.deepEqual(mock.shown[1].actions, ['Copy', 'Open']);
    });

    it('stays quiet below level "all" (the log still has it)', async () => {
        mock.settings['msp.notifications.level'] = 'errors';
        await notifier().n.payloadsGenerated(event);
        assert.equal(mock.shown.length, 0);
        assert.ok(mock.logLines.some((l) => l.includes('2 payloads ready')));
    });

    it('reports an integration that failed on the event, once', async () => {
        const failure = { integration: 'jira', hook: 'session_ended', eventId: 'evt-1', error: 'issueKey: required', createdAt: '2026-03-02T10:00:00Z' };
        const { n } = notifier();
        await n.payloadsGenerated({ folderUri: 'file:///w', payloads: [], failures: [failure] });
        await n.payloadsGenerated({ folderUri: 'file:///w', payloads: [], failures: [failure] });
        assert.deepEqual(mock.shown, [
            {
                kind: 'error',
                message: 'MSP: Jira failed on session ended: issueKey: required (your record is saved)',
                actions: ['Show log'],
            },
        ]);
    });

    it('ignores an event without payloads', async () => {
        await notifier().n.payloadsGenerated({ folderUri: 'file:///w', payloads: [] });
        assert.equal(mock.shown.length, 0);
    });
});

describe('entity captures: one quiet message per batch', () => {
    beforeEach(() => mock.reset());
    const captured = (...names: string[]) => ({
        folderUri: 'file:///work/app',
        entities: names.map((name, i) => ({ name, type: 'class', path: 'app.py', language: 'python', line: i + 1 })),
    });

    it('batches several notifications into one status-bar message', () => {
        const { n } = notifier();
        n.entitiesCaptured(captured('ResetToken'));
        n.entitiesCaptured(captured('Mailer', 'Clock'));
        assert.equal(mock.statusMessages.length, 0, 'nothing before the batch closes');
        n.flushEntities();
        assert.deepEqual(mock.statusMessages, [
            '$(symbol-class) MSP: recorded 3 entities: ResetToken (class), Mailer (class), Clock (class)',
        ]);
        assert.equal(mock.shown.length, 0, 'no pop-up');
        n.dispose();
    });

    it('can be turned off by a setting', () => {
        mock.settings['msp.notifications.entityCaptures'] = false;
        const { n } = notifier();
        n.entitiesCaptured(captured('ResetToken'));
        n.flushEntities();
        assert.equal(mock.statusMessages.length, 0);
        assert.ok(mock.logLines.some((l) => l.includes('captured class ResetToken (app.py:1)')));
    });

    it('summarises long batches', () => {
        const many = Array.from({ length: 7 }, (_, i) => ({ name: `C${i}`, type: 'class', path: null, language: null, line: null }));
        assert.equal(entitiesMessage(many), 'MSP: recorded 7 entities: C0 (class), C1 (class), C2 (class), C3 (class), C4 (class) and 2 more');
    });
});

describe('errors', () => {
    beforeEach(() => mock.reset());

    it('are shown once with "Show log", then only logged', () => {
        const { n } = notifier();
        n.error('MSP: the store is locked');
        n.error('MSP: the store is locked');
        n.error('MSP: another problem');
        assert.deepEqual(
            mock.shown.map((s) => [s.kind, s.message, s.actions]),
            [
                ['error', 'MSP: the store is locked', ['Show log']],
                ['error', 'MSP: another problem', ['Show log']],
            ],
        );
        assert.equal(mock.logLines.filter((l) => l.includes('store is locked')).length, 2);
    });
});

describe('capture problems and code-action confirmations', () => {
    beforeEach(() => mock.reset());

    it('files capture could not parse: one warning per notification, a log line per file', () => {
        const { n } = notifier();
        n.captureProblems({ folderUri: 'file:///w', problems: [{ path: 'broken.py', reason: 'invalid syntax (line 3)' }], resolved: [] });
        assert.deepEqual(mock.shown, [{ kind: 'warning', message: 'MSP: broken.py was not scanned for entities: invalid syntax (line 3)', actions: ['Show log'] }]);
        n.captureProblems({ folderUri: 'file:///w', problems: [], resolved: ['broken.py'] });
        assert.equal(mock.shown.length, 1, 'a file that parses again is no message');
        n.captureProblems({ folderUri: 'file:///w', problems: [{ path: 'a.py', reason: 'x' }, { path: 'b.py', reason: 'y' }], resolved: [] });
        assert.match(mock.shown[1].message, /^MSP: 2 files were not scanned for entities \(a\.py, b\.py\)/);
        assert.equal(mock.logLines.filter((l) => l.includes('was not scanned')).length, 3);
    });

    it('a marker recorded through a code action gets a quiet status-bar confirmation', () => {
        const { n } = notifier();
        n.recordedFromEditor('msp.server.decide', { state: 'active', record: { kind: 'decision', id: 'dec-1', content: 'tokens expire after one hour' } });
        n.recordedFromEditor('msp.server.openPayload', { uri: 'file:///x' });
        n.recordedFromEditor('editor.action.other', { record: { kind: 'decision' } });
        assert.deepEqual(mock.statusMessages, ['$(check) MSP: decision recorded — tokens expire after one hour']);
        assert.equal(mock.shown.length, 0);
    });
});
