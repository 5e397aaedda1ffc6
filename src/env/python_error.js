// `PythonError`, made in each environment by script so it is a real `Error` subclass.
(function () {
  class PythonError extends Error {
    constructor(message, name, pyType, traceback, exception) {
      super(message);
      if (exception !== undefined) Object.defineProperty(this, 'pyExceptionHandle', { value: exception, configurable: true, writable: true });
      Object.defineProperty(this, 'name', { value: name || 'PythonError', writable: true, configurable: true, enumerable: false });
      this.pyType = pyType;
      this.traceback = traceback;
      // The message already starts with the name (`ValueError: boom`): the stack's first line is
      // the message, not `ValueError: ValueError: boom`.
      const stack = this.stack;
      if (typeof stack === 'string' && typeof message === 'string' && message.startsWith(`${this.name}: `) && stack.startsWith(`${this.name}: ${message}`)) {
        this.stack = message + stack.slice(this.name.length + 2 + message.length);
      }
    }
  }
  Object.defineProperty(PythonError.prototype, 'name', { value: 'PythonError', writable: true, configurable: true });
  return PythonError;
})()
