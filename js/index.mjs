// ES module entry: the same objects as the CommonJS entry.
import cjs from './index.js';

export const { Python, PythonPool, clib, PythonError, kwargs, tuple, callOptions, jsobject, setRequireBase } = cjs;
export default cjs;
