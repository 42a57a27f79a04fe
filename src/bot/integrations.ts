/**
 * The approval core calls into modules other parts of smsops provide (generator lint,
 * scheduler planner and controls, analytics). They are loaded on first use, so a build
 * without one of them still serves everything else and says clearly what is missing.
 */
import type { LintFinding } from '../domain/lintFinding.ts';
import type { CampaignSettings } from '../campaigns/settings.ts';
import type { AppContext } from '../context.ts';
import type { Queryable } from '../db/database.ts';
import type { Surface } from '../db/queries/audit.ts';
import type { ChatMessage } from './chatSurface.ts';
import { AppError } from '../errors.ts';

type Reply = { ok: boolean; message: string };

export interface LintModule {
  lintMessage(body: string, lc: { settings: CampaignSettings; brief: Record<string, unknown> }): LintFinding[];
}
export interface PlannerModule {
  planApprovedMessages(q: Queryable, ctx: AppContext, campaignId: number): Promise<void>;
}
export interface ControlsModule {
  pauseCampaign(ctx: AppContext, a: { campaignId: number; actor: string; surface: Surface; reason?: string }): Promise<Reply>;
  resumeCampaign(ctx: AppContext, a: { campaignId: number; actor: string; surface: Surface }): Promise<Reply>;
  cancelCampaign(ctx: AppContext, a: { campaignId: number; actor: string; surface: Surface }): Promise<Reply & { cancelled: number }>;
  sendTestMessage(ctx: AppContext, a: { campaignId: number; phone: string; actor: string; surface: Surface }): Promise<Reply>;
  changeCampaignSettings(ctx: AppContext, a: { campaignId: number; assignments: string; actor: string; surface: Surface }): Promise<Reply>;
}
export interface PreviewModule {
  previewCampaign(ctx: AppContext, campaignId: number): Promise<unknown>;
  formatPreview(p: unknown, opts?: { maxLines?: number }): string;
}
export interface ProgressModule {
  renderProgress(q: Queryable, ctx: AppContext, batchId: number): Promise<ChatMessage>;
}
export interface GeneratorModule {
  generateBatch(
    ctx: AppContext,
    input: { campaign: string; segment: string; limit?: number; actor: string; surface: Surface },
    onProgress?: (done: number, total: number) => void,
  ): Promise<{ campaignId: number | null; batchId: number | null; matched: number; suggestions: number; lintFindings: number; estimatedCostUsd: number; exclusions: Record<string, number> }>;
}
export interface ReportModule {
  campaignReport(q: Queryable, campaignId: number, opts?: { now?: Date }): Promise<unknown>;
  formatReport(r: unknown): string;
}

const PATHS = {
  lint: '../generator/lint.ts',
  planner: '../scheduler/planner.ts',
  controls: '../scheduler/controls.ts',
  preview: '../scheduler/preview.ts',
  progress: '../scheduler/progress.ts',
  generator: '../generator/index.ts',
  report: '../analytics/report.ts',
} as const;

interface Modules {
  lint: LintModule;
  planner: PlannerModule;
  controls: ControlsModule;
  preview: PreviewModule;
  progress: ProgressModule;
  generator: GeneratorModule;
  report: ReportModule;
}

const cache = new Map<keyof Modules, Promise<unknown>>();

/** The module, or null when this build does not have it yet. */
export async function optionalModule<K extends keyof Modules>(key: K): Promise<Modules[K] | null> {
  let p = cache.get(key);
  if (!p) {
    const url = new URL(PATHS[key], import.meta.url).href;
    p = import(/* @vite-ignore */ url).catch((e: unknown) => {
      cache.delete(key);
      if ((e as { code?: string }).code === 'ERR_MODULE_NOT_FOUND' || /Cannot find module|Failed to load url/i.test(String(e))) return null;
      throw e;
    });
    cache.set(key, p);
  }
  return (await p) as Modules[K] | null;
}

/** The module, or an AppError('not_available') that says which capability is missing. */
export async function requireModule<K extends keyof Modules>(key: K, what: string): Promise<Modules[K]> {
  const m = await optionalModule(key);
  if (!m) throw new AppError('not_available', `${what} is not available yet in this build (${PATHS[key].slice(3)} is missing).`);
  return m;
}
