/** The "MSP" output channel: the extension's log and the language server's window/logMessage. */

import * as vscode from 'vscode';

let channel: vscode.LogOutputChannel | undefined;

export function logChannel(): vscode.LogOutputChannel {
    if (!channel) {
        channel = vscode.window.createOutputChannel('MSP', { log: true });
    }
    return channel;
}

export const log = {
    info: (message: string): void => logChannel().info(message),
    warn: (message: string): void => logChannel().warn(message),
    error: (message: string): void => logChannel().error(message),
    show: (): void => logChannel().show(true),
};
