/** Length checks for the flat pixel arrays the grid and overlay functions take. */
export function checkLength(what: string, arr: ArrayLike<number>, expected: number, hint: string): void {
  if (arr.length !== expected) {
    throw new Error(`${what}: expected ${expected} values (${hint}); found ${arr.length}. Pass arrays of the stated size.`);
  }
}
