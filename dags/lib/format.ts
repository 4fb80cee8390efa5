/** Numbers as the audit reasons show them: `0.781`, `+0.009`, `4,500`. */
export const fixed3 = (x: number): string => x.toFixed(3);
export const signed3 = (x: number): string => `${x >= 0 ? '+' : '-'}${Math.abs(x).toFixed(3)}`;
export const count = (n: number): string => n.toLocaleString('en-US');
