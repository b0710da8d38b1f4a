import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import { explicitlySet, settingsForServer } from '../src/settings';

const contributed = [
    'server.command',
    'capture.enabled',
    'capture.exclude',
    'notifications.level',
    'notifications.entityCaptures',
    'integrations',
    'trace.server',
];

describe('the msp section the server gets', () => {
    const defaults = {
        server: { command: [] },
        capture: { enabled: true, exclude: [] },
        notifications: { level: 'all', entityCaptures: true },
        integrations: {},
        trace: { server: 'off' },
    };

    it('is empty when everything is at its default, so .msp/config.json decides', () => {
        assert.deepEqual(settingsForServer(defaults, contributed, () => false), {});
    });

    it('carries what the user set, and their own msp.* keys, never the extension’s', () => {
        const merged = {
            ...defaults,
            server: { command: ['/py', '-m', 'msp_server'] },
            capture: { enabled: true, exclude: ['vendor/**'] },
            integrations: { slack: { delivery: 'send' } },
            sessionTimeout: '2h',
        };
        const set = new Set(['server.command', 'capture.exclude', 'integrations']);
        assert.deepEqual(settingsForServer(merged, contributed, (k) => set.has(k)), {
            capture: { exclude: ['vendor/**'] },
            integrations: { slack: { delivery: 'send' } },
            sessionTimeout: '2h',
        });
    });

    it('knows a default from a value the user set (even to the default value)', () => {
        assert.equal(explicitlySet({ globalValue: undefined }), false);
        assert.equal(explicitlySet({ workspaceFolderValue: true }), true);
        assert.equal(explicitlySet(undefined), false);
        assert.deepEqual(settingsForServer(null, contributed, () => true), {});
    });
});
