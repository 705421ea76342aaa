// TypeBox's schema builder, bundled into one file by the build (README.md here).
export { Type } from '@sinclair/typebox';
