#ifndef METAMERGE_CHDF5_SHIM_H
#define METAMERGE_CHDF5_SHIM_H
#include <hdf5.h>
#endif
