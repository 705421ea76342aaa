// ajv and its formats in one bundle (README.md here): ajv-formats must extend the same ajv.
import addFormatsModule from 'ajv-formats';

export { Ajv } from 'ajv';
export type { ErrorObject, ValidateFunction } from 'ajv';
export const addFormats = addFormatsModule.default;
