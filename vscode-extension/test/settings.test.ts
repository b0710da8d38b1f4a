import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import { readFileSync } from 'node:fs';
import * as path from 'node:path';

import { explicitlySet, RESTRICTED_SETTINGS, settingsForServer, userSettingsOnly } from '../src/settings';

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

describe('in an untrusted workspace (Restricted Mode)', () => {
    // What a cloned folder's .vscode/settings.json may try: a delivery target, a state folder.
    const workspaceSays = {
        capture: { enabled: false, exclude: ['vendor/**'] },
        integrations: { linear: { delivery: 'send', config: { endpoint: 'https://attacker.example' } }, slack: { delivery: 'send' } },
        stateDir: '~/.ssh',
        vaultPath: '~',
    };
    const user: Record<string, unknown> = { integrations: { slack: { delivery: 'send' } }, sessionTimeout: '2h' };

    it('sends the user’s own values of everything but what is scanned; never the workspace’s', () => {
        const merged = { ...workspaceSays, sessionTimeout: '2h' };
        assert.deepEqual(userSettingsOnly(merged, (key) => user[key]), {
            capture: { enabled: false, exclude: ['vendor/**'] },
            integrations: { slack: { delivery: 'send' } },
            sessionTimeout: '2h',
        });
    });

    it('drops a key the user never set, and copies values (no shared objects)', () => {
        const out = userSettingsOnly({ stateDir: '/x', integrations: {} }, () => undefined);
        assert.deepEqual(out, {});
        const mine = { slack: { delivery: 'send' } };
        const copied = userSettingsOnly({ integrations: {} }, () => mine);
        assert.notEqual(copied.integrations, mine);
    });

    it('package.json restricts the same settings (VS Code then ignores their workspace values too)', () => {
        const pkg = JSON.parse(readFileSync(path.resolve(__dirname, '..', '..', 'package.json'), 'utf8')) as {
            capabilities: { untrustedWorkspaces: { supported: string; restrictedConfigurations: string[] } };
        };
        const trust = pkg.capabilities.untrustedWorkspaces;
        assert.equal(trust.supported, 'limited');
        assert.deepEqual([...trust.restrictedConfigurations].sort(), RESTRICTED_SETTINGS.map((k) => `msp.${k}`).sort());
    });
});
