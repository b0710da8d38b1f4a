import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import { payloadLabel, payloadsDocument, payloadsFrom, payloadsMessage, payloadText } from '../src/payloads';
import { Payload } from '../src/wire';

const CYPHER: Payload = {
    id: 'pay-1',
    integration: 'neo4j',
    hook: 'decision_recorded',
    status: 'generated',
    kind: 'cypher',
    title: 'Decision node',
    statement: 'MERGE (d:Decision {id: $id})',
    parameters: { id: 'dec-1' },
};
const HTTP: Payload = {
    id: 'pay-2',
    integration: 'slack',
    hook: 'decision_recorded',
    status: 'generated',
    kind: 'http',
    title: 'Slack message',
    method: 'POST',
    url: { credential: 'slack-webhook' },
    json: { text: 'Decided' },
};
const FILE: Payload = {
    id: 'pay-3',
    integration: 'obsidian',
    kind: 'file',
    title: 'ADR',
    path: 'Decisions/0001.md',
    content: '# ADR 1\n```py\nx\n```\n',
    mode: 'create',
};
const GRAPHQL: Payload = {
    id: 'pay-4',
    integration: 'linear',
    kind: 'graphql',
    title: 'Comment',
    query: 'mutation C($input: CommentCreateInput!) { commentCreate(input: $input) { success } }',
    variables: { input: { body: 'hi' } },
};

describe('payloads for people', () => {
    it('copies the statement with its parameters, never a secret', () => {
        assert.equal(payloadText(CYPHER), 'MERGE (d:Decision {id: $id})\n\n// parameters\n{\n  "id": "dec-1"\n}\n');
        assert.equal(payloadText(HTTP), 'POST <credential slack-webhook>\n\n{\n  "text": "Decided"\n}\n');
        assert.match(payloadText(GRAPHQL), /commentCreate[\s\S]*# variables\n\{\n {2}"input"/);
        assert.equal(payloadText(FILE), FILE.content);
    });

    it('opens as one Markdown document, fenced safely', () => {
        const doc = payloadsDocument([CYPHER, FILE]);
        assert.match(doc, /## Decision node\n/);
        assert.match(doc, /```cypher\nMERGE/);
        assert.match(doc, /→ `Decisions\/0001.md`/);
        assert.match(doc, /~~~~markdown\n# ADR 1\n```py/, 'content with ``` gets a ~~~~ fence');
    });

    it('lists them in one notification line', () => {
        assert.equal(payloadLabel(CYPHER), 'Neo4j: decision node');
        assert.equal(payloadsMessage([CYPHER, HTTP]), '2 payloads ready — Neo4j: decision node; Slack: message');
        assert.match(payloadsMessage([CYPHER, HTTP, FILE, GRAPHQL, CYPHER]), /and 2 more$/);
    });

    it('speaks in plain words: no record ids, no repeated integration name', () => {
        const obsidian = { id: 'pay-9', integration: 'obsidian', kind: 'file', title: 'Progress upd-9cee9998 in the daily note' };
        assert.equal(payloadsMessage([obsidian]), 'Obsidian: progress in the daily note ready');
        const adr = { ...obsidian, title: 'ADR for decision dec-5f8e302e' };
        assert.equal(payloadsMessage([adr]), 'Obsidian: ADR for decision ready');
        const daily = { ...obsidian, title: 'Daily note section for session msp-2026-12-02-075225' };
        assert.equal(payloadsMessage([daily]), 'Obsidian: daily note section ready');
        const jira = { id: 'pay-3', integration: 'jira', kind: 'http', title: 'Jira: comment on SHOP-12 (session ended)' };
        assert.equal(payloadsMessage([jira]), 'Jira: comment on SHOP-12 (session ended) ready');
        // A folder's config names its integrations: the name is matched literally, never a pattern.
        const odd = { id: 'pay-4', integration: 'hook(1', kind: 'http', title: 'Hook(1: posted' };
        assert.equal(payloadLabel(odd), 'Hook(1: posted');
        assert.equal(payloadLabel({ ...odd, integration: 'a.b', title: 'axb: posted' }), 'A.b: axb: posted');
    });

    it('reads {payloads: [...]} or a list, dropping malformed entries', () => {
        assert.deepEqual(payloadsFrom({ payloads: [CYPHER, { nope: 1 }] }), [CYPHER]);
        assert.deepEqual(payloadsFrom([HTTP]), [HTTP]);
        assert.deepEqual(payloadsFrom(null), []);
    });
});
