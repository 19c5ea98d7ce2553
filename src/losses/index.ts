/**
 * The loss table, the one source of loss numbers and names (part of melseg's interface): 0..14 are the
 * study's, in its numbering; 15 is melseg's own. Each entry's id is its index.
 */
import { BCELoss, bceLoss } from './bce';
import { bceDiceLoss } from './bce-dice';
import type { LossDef } from './common';
import { diceLoss } from './dice';
import { focalLoss } from './focal';
import { tversky } from './tversky';

export type { LossDef, LossInputs } from './common';

/** The study's fifteen losses, 0..14, in its numbering; the losses after them are melseg's own. */
export const STUDY_LOSS_COUNT = 15;

export const LOSSES: readonly LossDef[] = [BCELoss, bceLoss, diceLoss, focalLoss, ...Array.from({ length: 11 }, (_, k) => tversky(k + 4)), bceDiceLoss];

function table(): string {
  return LOSSES.map((l) => `  ${String(l.id).padStart(2)}  ${l.name}`).join('\n');
}

export function resolveLoss(spec: string | number): LossDef {
  const s = String(spec).trim();
  const hit = /^\d+$/.test(s) ? LOSSES[Number(s)] : LOSSES.find((l) => l.name.toLowerCase() === s.toLowerCase());
  if (!hit) throw new Error(`unknown loss '${s}': expected a number or a name from\n${table()}`);
  return hit;
}

export function lossTable(): string {
  return `losses:\n${table()}`;
}
