#ifndef METAMERGE_CHDF5_SHIM_H
#define METAMERGE_CHDF5_SHIM_H

// The C side of the HDF5 module: libhdf5's own headers, plus `static inline` wrappers for everything Swift cannot
// import from them.
//
// - The `H5T_NATIVE_*`, `H5F_ACC_*` and `H5P_<class>` macros expand to comma expressions that call `H5open()` and
//   read `*_g` globals. Swift does not import them, and Swift 6 refuses to read the globals themselves ("not
//   concurrency-safe"). The wrappers below evaluate the macros in C, so `H5open()` still runs first.
// - `H5P_DEFAULT` and `H5E_DEFAULT` import as `Int32`; `H5S_UNLIMITED` and `H5T_VARIABLE` do not import at all.
// - A few calls changed name or signature between 1.10 and 1.12 (`H5Fis_hdf5`, `H5Dvlen_reclaim`, the `H5Literate`
//   callback's info struct); the wrappers pick the right one at compile time.
//
// Only the Swift `HDF5` module uses this target. Nothing here is thread-safe on its own: the Swift side serialises
// every call through one lock.

#include <hdf5.h>
#include <string.h>

// MARK: - Native memory types

static inline hid_t chdf5_t_native_double(void) { return H5T_NATIVE_DOUBLE; }
static inline hid_t chdf5_t_native_float(void) { return H5T_NATIVE_FLOAT; }
static inline hid_t chdf5_t_native_int64(void) { return H5T_NATIVE_INT64; }
static inline hid_t chdf5_t_native_int32(void) { return H5T_NATIVE_INT32; }
static inline hid_t chdf5_t_native_uint8(void) { return H5T_NATIVE_UINT8; }
static inline hid_t chdf5_t_native_uint64(void) { return H5T_NATIVE_UINT64; }
/// The C string type (`H5T_C_S1`): copy it, then set size and character set.
static inline hid_t chdf5_t_c_s1(void) { return H5T_C_S1; }

// MARK: - File access flags

static inline unsigned chdf5_f_acc_rdonly(void) { return H5F_ACC_RDONLY; }
static inline unsigned chdf5_f_acc_rdwr(void) { return H5F_ACC_RDWR; }
static inline unsigned chdf5_f_acc_trunc(void) { return H5F_ACC_TRUNC; }
static inline unsigned chdf5_f_acc_excl(void) { return H5F_ACC_EXCL; }

// MARK: - Special identifiers and sizes

static inline hid_t chdf5_p_default(void) { return H5P_DEFAULT; }
static inline hid_t chdf5_e_default(void) { return H5E_DEFAULT; }
static inline hid_t chdf5_s_all(void) { return H5S_ALL; }
static inline hsize_t chdf5_s_unlimited(void) { return H5S_UNLIMITED; }
static inline size_t chdf5_t_variable(void) { return H5T_VARIABLE; }
static inline int chdf5_s_max_rank(void) { return H5S_MAX_RANK; }
static inline H5Z_filter_t chdf5_z_filter_deflate(void) { return H5Z_FILTER_DEFLATE; }

// MARK: - Property list classes

static inline hid_t chdf5_p_file_create(void) { return H5P_FILE_CREATE; }
static inline hid_t chdf5_p_file_access(void) { return H5P_FILE_ACCESS; }
static inline hid_t chdf5_p_dataset_create(void) { return H5P_DATASET_CREATE; }
static inline hid_t chdf5_p_link_create(void) { return H5P_LINK_CREATE; }
static inline hid_t chdf5_p_attribute_create(void) { return H5P_ATTRIBUTE_CREATE; }

// MARK: - Error stack

/// Turns off HDF5's automatic printing of its error stack to stderr, for the calling thread's default stack
/// (thread-safe builds keep one default stack per thread).
static inline herr_t chdf5_silence_errors(void) { return H5Eset_auto2(H5E_DEFAULT, NULL, NULL); }

/// Empties the calling thread's default error stack. Leaving failures on it can make the library print
/// "infinite loop closing library" at process exit.
static inline herr_t chdf5_clear_errors(void) { return H5Eclear2(H5E_DEFAULT); }

typedef struct {
    char *buffer;
    size_t capacity;
    int found;
} chdf5__error_message_context;

static inline herr_t chdf5__error_walker(unsigned n, const H5E_error2_t *error, void *data) {
    (void)n;
    chdf5__error_message_context *context = (chdf5__error_message_context *)data;
    if (!context->found && error != NULL && error->desc != NULL && error->desc[0] != '\0') {
        strncpy(context->buffer, error->desc, context->capacity - 1);
        context->buffer[context->capacity - 1] = '\0';
        context->found = 1;
    }
    return 0;
}

/// Copies the most specific message on the calling thread's default error stack (the innermost failure, e.g.
/// "truncated file: eof = 96, ...") into `buffer`. Returns 1 when a message was found, 0 otherwise.
static inline int chdf5_innermost_error_message(char *buffer, size_t capacity) {
    if (buffer == NULL || capacity == 0) return 0;
    buffer[0] = '\0';
    chdf5__error_message_context context = {buffer, capacity, 0};
    if (H5Ewalk2(H5E_DEFAULT, H5E_WALK_UPWARD, chdf5__error_walker, &context) < 0) return 0;
    return context.found;
}

// MARK: - Calls whose names or signatures differ between library versions

/// Whether `name` starts with an HDF5 signature: > 0 yes, 0 no, < 0 the file could not be checked.
static inline htri_t chdf5_is_hdf5(const char *name) {
#if H5_VERSION_GE(1, 12, 0)
    return H5Fis_accessible(name, H5P_DEFAULT);
#else
    return H5Fis_hdf5(name);
#endif
}

/// Frees the variable-length data (e.g. the `char *` of variable-length strings) that a read allocated in `buffer`.
static inline herr_t chdf5_vlen_reclaim(hid_t type, hid_t space, void *buffer) {
#if H5_VERSION_GE(1, 12, 0)
    return H5Treclaim(type, space, H5P_DEFAULT, buffer);
#else
    return H5Dvlen_reclaim(type, space, H5P_DEFAULT, buffer);
#endif
}

/// Called once per name; return 0 to continue, a positive value to stop, a negative one to fail.
typedef int (*chdf5_name_callback)(const char *name, void *context);

typedef struct {
    chdf5_name_callback callback;
    void *context;
} chdf5__name_iteration;

static inline herr_t chdf5__link_visitor(hid_t group, const char *name, const H5L_info_t *info, void *data) {
    (void)group;
    (void)info;
    chdf5__name_iteration *iteration = (chdf5__name_iteration *)data;
    return iteration->callback(name, iteration->context);
}

/// Calls `callback` with the name of every link in `group`, in increasing name order (`H5Literate`).
static inline herr_t chdf5_iterate_link_names(hid_t group, chdf5_name_callback callback, void *context) {
    chdf5__name_iteration iteration = {callback, context};
    hsize_t index = 0;
    return H5Literate(group, H5_INDEX_NAME, H5_ITER_INC, &index, chdf5__link_visitor, &iteration);
}

static inline herr_t chdf5__attribute_visitor(hid_t object, const char *name, const H5A_info_t *info, void *data) {
    (void)object;
    (void)info;
    chdf5__name_iteration *iteration = (chdf5__name_iteration *)data;
    return iteration->callback(name, iteration->context);
}

/// Calls `callback` with the name of every attribute of `object`, in increasing name order (`H5Aiterate2`).
static inline herr_t chdf5_iterate_attribute_names(hid_t object, chdf5_name_callback callback, void *context) {
    chdf5__name_iteration iteration = {callback, context};
    hsize_t index = 0;
    return H5Aiterate2(object, H5_INDEX_NAME, H5_ITER_INC, &index, chdf5__attribute_visitor, &iteration);
}

#endif
