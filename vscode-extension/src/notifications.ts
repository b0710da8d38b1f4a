/**
 * What the user is told, and how loudly: one notification per event listing its payloads (Copy,
 * Open, Send); entity captures batched into one quiet status-bar message; errors once.
 * Levels (`msp.notifications.level`): all · errors · off. Everything also goes to the log.
 */

import * as vscode from 'vscode';

import { log } from './log';
import { integrationName, payloadLabel, payloadsFrom, payloadsMessage, payloadText } from './payloads';
import { CapturedEntity, IntegrationFailure, Payload, SETTINGS_SECTION } from './wire';
import { oneLine } from './words';

export type Level = 'all' | 'errors' | 'off';
export const COPY = 'Copy';
export const OPEN = 'Open';
export const SEND = 'Send';
export const SHOW_LOG = 'Show log';
const ENTITY_BATCH_MS = 1000;
const ENTITY_MESSAGE_MS = 10_000;
const ERROR_REPEAT_MS = 5 * 60_000;

export interface NotifierDeps {
    /** Whether the server can deliver payloads now (it serves msp.server.sendPayload). */
    canSend(): boolean;
    /** Deliver payloads now (msp.server.sendPayload); reports its own errors. */
    sendPayloads(folderUri: string, payloads: Payload[]): Promise<void>;
    /** Show payloads read-only (the `msp:` documents). */
    openPayloads(payloads: Payload[]): Promise<void>;
}

export function level(): Level {
    const value = vscode.workspace.getConfiguration(SETTINGS_SECTION).get<string>('notifications.level', 'all');
    return value === 'errors' || value === 'off' ? value : 'all';
}

function entityCapturesOn(): boolean {
    return vscode.workspace.getConfiguration(SETTINGS_SECTION).get<boolean>('notifications.entityCaptures', true);
}

/** "Recorded 2 entities: ResetToken (class), send_mail (function)". */
export function entitiesMessage(entities: CapturedEntity[]): string {
    const names = entities.slice(0, 5).map((e) => `${e.name} (${e.type})`);
    const more = entities.length > 5 ? ` and ${entities.length - 5} more` : '';
    const n = entities.length;
    return `MSP: recorded ${n} ${n === 1 ? 'entity' : 'entities'}: ${names.join(', ')}${more}`;
}

export class Notifier implements vscode.Disposable {
    private pendingEntities: CapturedEntity[] = [];
    private entityTimer: ReturnType<typeof setTimeout> | undefined;
    private entityMessage: vscode.Disposable | undefined;
    private readonly recentErrors = new Map<string, number>();

    constructor(private readonly deps: NotifierDeps) {}

    /**
     * msp/payloadsGenerated: one notification for the event, with Copy / Open / Send; an
     * integration that failed on it is an error (shown once).
     */
    async payloadsGenerated(raw: unknown): Promise<void> {
        for (const failure of failuresFrom(raw)) {
            this.error(
                `MSP: ${integrationName(failure.integration)} failed on ${failure.hook.replace(/_/g, ' ')}: ${failure.error} (your record is saved)`,
            );
        }
        const payloads = payloadsFrom(raw);
        if (!payloads.length) {
            return;
        }
        const params = (raw ?? {}) as { folderUri?: unknown };
        const message = payloadsMessage(payloads);
        log.info(`${message} (${payloads.map((p) => p.id).join(', ')})`);
        if (level() !== 'all') {
            return;
        }
        const sendable = payloads.filter((p) => !p.status || p.status === 'generated' || p.status === 'dead');
        const actions = sendable.length && this.deps.canSend() ? [COPY, OPEN, SEND] : [COPY, OPEN];
        const choice = await vscode.window.showInformationMessage(message, ...actions);
        await this.payloadAction(choice, payloads, typeof params.folderUri === 'string' ? params.folderUri : undefined);
    }

    async payloadAction(choice: string | undefined, payloads: Payload[], folderUri: string | undefined): Promise<void> {
        if (choice === COPY) {
            await copyPayloads(payloads);
        } else if (choice === OPEN) {
            await this.deps.openPayloads(payloads);
        } else if (choice === SEND && folderUri) {
            await this.deps.sendPayloads(
                folderUri,
                payloads.filter((p) => !p.status || p.status === 'generated' || p.status === 'dead'),
            );
        }
    }

    /** msp/entitiesCaptured: collect for a moment, then one quiet status-bar message. */
    entitiesCaptured(raw: unknown): void {
        const entities = (raw as { entities?: unknown })?.entities;
        if (!Array.isArray(entities) || entities.length === 0) {
            return;
        }
        const valid = entities.filter(
            (e): e is CapturedEntity => !!e && typeof e === 'object' && typeof (e as CapturedEntity).name === 'string',
        );
        for (const e of valid) {
            log.info(`captured ${e.type} ${e.name}${e.path ? ` (${e.path}${e.line ? `:${e.line}` : ''})` : ''}`);
        }
        if (level() === 'off' || !entityCapturesOn()) {
            return;
        }
        this.pendingEntities.push(...valid);
        if (this.entityTimer === undefined) {
            this.entityTimer = setTimeout(() => this.flushEntities(), ENTITY_BATCH_MS);
        }
    }

    flushEntities(): void {
        if (this.entityTimer !== undefined) {
            clearTimeout(this.entityTimer);
            this.entityTimer = undefined;
        }
        const batch = this.pendingEntities;
        this.pendingEntities = [];
        if (!batch.length) {
            return;
        }
        this.entityMessage?.dispose();
        this.entityMessage = vscode.window.setStatusBarMessage(
            `$(symbol-class) ${entitiesMessage(batch)}`,
            ENTITY_MESSAGE_MS,
        );
    }

    /**
     * msp/captureProblems: files the server could not parse (it sends each file and reason once).
     * One warning per notification, and a log line per file; the MSP view lists them too.
     */
    captureProblems(raw: unknown): void {
        const { problems } = parseCaptureProblems(raw);
        for (const p of problems) {
            log.warn(`${p.path} was not scanned for entities: ${p.reason}`);
        }
        if (!problems.length || level() === 'off') {
            return;
        }
        const text =
            problems.length === 1
                ? `MSP: ${problems[0].path} was not scanned for entities: ${problems[0].reason}`
                : `MSP: ${problems.length} files were not scanned for entities (${problems
                      .slice(0, 3)
                      .map((p) => p.path)
                      .join(', ')}${problems.length > 3 ? ', …' : ''}); fix them and save to capture their definitions.`;
        void vscode.window.showWarningMessage(text, SHOW_LOG).then((choice) => {
            if (choice === SHOW_LOG) {
                log.show();
            }
        });
    }

    /**
     * A code action recorded a marker line: a quiet confirmation naming what was recorded (the
     * record shows in the MSP view; the line then offers "Show in MSP view").
     */
    recordedFromEditor(command: string, result: unknown): void {
        const record = (result as { record?: unknown } | undefined)?.record;
        if (!command.startsWith('msp.server.') || !record || typeof record !== 'object') {
            return;
        }
        const r = record as { kind?: unknown; content?: unknown; description?: unknown; name?: unknown };
        const kind = typeof r.kind === 'string' ? r.kind : 'record';
        const what = [r.content, r.description, r.name].find((v): v is string => typeof v === 'string');
        this.confirm(`MSP: ${kind} recorded${what ? ` — ${oneLine(what, 60)}` : ''}`);
        // The walkthrough's "Record from a comment" step completes on it.
        void vscode.commands.executeCommand('setContext', 'msp.markerRecorded', true);
    }

    /** A quiet confirmation in the status bar ("MSP: decision recorded"). */
    confirm(text: string): void {
        log.info(text);
        if (level() === 'all') {
            vscode.window.setStatusBarMessage(`$(check) ${text}`, 5000);
        }
    }

    /**
     * An error that is not the direct answer to a user's action (server failures, background
     * problems): shown once with "Show log", then only logged for a while.
     */
    error(message: string): void {
        log.error(message);
        const now = Date.now();
        const last = this.recentErrors.get(message);
        if (last !== undefined && now - last < ERROR_REPEAT_MS) {
            return;
        }
        this.recentErrors.set(message, now);
        if (level() === 'off') {
            return;
        }
        void vscode.window.showErrorMessage(message, SHOW_LOG).then((choice) => {
            if (choice === SHOW_LOG) {
                log.show();
            }
        });
    }

    dispose(): void {
        if (this.entityTimer !== undefined) {
            clearTimeout(this.entityTimer);
        }
        this.entityMessage?.dispose();
    }
}

export function failuresFrom(raw: unknown): IntegrationFailure[] {
    const list = (raw as { failures?: unknown } | undefined)?.failures;
    return Array.isArray(list)
        ? list.filter(
              (f): f is IntegrationFailure =>
                  !!f && typeof f === 'object' && typeof (f as IntegrationFailure).integration === 'string' && typeof (f as IntegrationFailure).error === 'string',
          ).map((f) => ({ ...f, hook: typeof f.hook === 'string' ? f.hook : 'an event' }))
        : [];
}

export async function copyPayloads(payloads: Payload[]): Promise<void> {
    let chosen = payloads;
    if (payloads.length > 1) {
        const items = [
            { label: 'All payloads', payloads },
            ...payloads.map((p) => ({ label: payloadLabel(p), description: p.id, payloads: [p] })),
        ];
        const pick = await vscode.window.showQuickPick(items, { title: 'MSP: copy which payload?' });
        if (!pick) {
            return;
        }
        chosen = pick.payloads;
    }
    await vscode.env.clipboard.writeText(chosen.map(payloadText).join('\n'));
    vscode.window.setStatusBarMessage(`$(check) MSP: copied ${chosen.length === 1 ? chosen[0].title : `${chosen.length} payloads`}`, 4000);
}

export interface CaptureProblem {
    path: string;
    reason: string;
}

/** msp/captureProblems: `{folderUri, problems: [{path, reason}], resolved: [path]}`. */
export function parseCaptureProblems(raw: unknown): { folderUri?: string; problems: CaptureProblem[]; resolved: string[] } {
    const p = (raw && typeof raw === 'object' ? raw : {}) as Record<string, unknown>;
    const problems = (Array.isArray(p.problems) ? p.problems : []).filter(
        (x): x is CaptureProblem => !!x && typeof x === 'object' && typeof (x as CaptureProblem).path === 'string' && typeof (x as CaptureProblem).reason === 'string',
    );
    const resolved = (Array.isArray(p.resolved) ? p.resolved : []).filter((x): x is string => typeof x === 'string');
    return { folderUri: typeof p.folderUri === 'string' ? p.folderUri : undefined, problems, resolved };
}
