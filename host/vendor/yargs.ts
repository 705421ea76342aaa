// yargs, bundled into one file by the build (README.md here).
export { default } from 'yargs';
export type { Argv } from 'yargs';
