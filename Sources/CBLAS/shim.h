#ifndef METAMERGE_CBLAS_SHIM_H
#define METAMERGE_CBLAS_SHIM_H
#include <cblas.h>
#endif
