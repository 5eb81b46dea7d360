export interface BenchRow { name: string; unit: string; ours: number; anchor: number; anchorName: string; higherIsBetter: boolean }
