/** The results CSV: its format (csv), locked transactions on it (store), and summaries of its rows (summary). (Beside its folder: see index.ts.) */
export * from './results/csv';
export * from './results/store';
export * from './results/summary';
export * from './results/sizes';
