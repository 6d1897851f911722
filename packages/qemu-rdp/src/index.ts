// Placeholder: this package is planned (see the project's issues) and offers nothing yet.
export const implemented = false;
