/** Every graph input and output name melseg uses: graphs, trainer and tests all read them from here. */
export const IMAGE = 'image';
export const MASK = 'mask';
export const LOSS = 'loss';
export const PROBABILITY = 'probability';
export const INTERSECTION = 'intersection';
export const UNION = 'union';
/** AdamW scalars: learning rate and the 1-based step count (float, for the bias corrections). */
export const LR = 'lr';
export const STEP = 'step';
/** The symbolic batch dimension. */
export const BATCH = 'N';

export const gradName = (param: string) => `${param}_grad`;
export const nextName = (param: string) => `${param}_next`;
export const firstMoment = (param: string) => `${param}_exp_avg`;
export const secondMoment = (param: string) => `${param}_exp_avg_sq`;
