#include "dlcl.h"

#include <dlfcn.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static dlcl_api api;
static const dlcl_api* loaded;
static char load_error[512];
static pthread_once_t once = PTHREAD_ONCE_INIT;

static int resolve(void* lib, void** slot, const char* name) {
    *slot = dlsym(lib, name);
    if (*slot) return 1;
    snprintf(load_error, sizeof load_error, "the OpenCL library has no %s (OpenCL 1.2 is required)", name);
    return 0;
}

#define RESOLVE(field) resolve(lib, (void**)&api.field, "cl" #field)

static void load_once(void) {
    const char* override = getenv("DLINFER_OPENCL_LIBRARY");
    const char* names[] = {override && *override ? override : "libOpenCL.so.1", "libOpenCL.so"};
    int count = override && *override ? 1 : 2;
    void* lib = NULL;
    for (int i = 0; i < count && !lib; i++) lib = dlopen(names[i], RTLD_NOW | RTLD_LOCAL);
    if (!lib) {
        const char* why = dlerror();
        snprintf(load_error, sizeof load_error, "cannot load %s (%s); install an OpenCL driver and ICD loader "
                 "(e.g. ocl-icd-libopencl1 plus a vendor driver or pocl-opencl-icd)", names[0], why ? why : "not found");
        return;
    }
    int ok = RESOLVE(GetPlatformIDs) && RESOLVE(GetPlatformInfo) && RESOLVE(GetDeviceIDs) && RESOLVE(GetDeviceInfo) &&
             RESOLVE(CreateContext) && RESOLVE(ReleaseContext) && RESOLVE(CreateCommandQueue) &&
             RESOLVE(ReleaseCommandQueue) && RESOLVE(CreateBuffer) && RESOLVE(ReleaseMemObject) &&
             RESOLVE(EnqueueReadBuffer) && RESOLVE(EnqueueWriteBuffer) && RESOLVE(EnqueueCopyBuffer) &&
             RESOLVE(CreateProgramWithSource) && RESOLVE(CreateProgramWithBinary) && RESOLVE(BuildProgram) &&
             RESOLVE(GetProgramBuildInfo) && RESOLVE(GetProgramInfo) && RESOLVE(ReleaseProgram) &&
             RESOLVE(CreateKernel) && RESOLVE(ReleaseKernel) && RESOLVE(SetKernelArg) &&
             RESOLVE(GetKernelWorkGroupInfo) && RESOLVE(EnqueueNDRangeKernel) && RESOLVE(Finish) && RESOLVE(Flush) &&
             RESOLVE(WaitForEvents) && RESOLVE(GetEventProfilingInfo) && RESOLVE(ReleaseEvent);
    if (!ok) {
        dlclose(lib);
        return;
    }
    /* Kept open for the life of the process: drivers register handlers that must outlive every context. */
    loaded = &api;
}

const dlcl_api* dlcl_load(char* error, size_t size) {
    pthread_once(&once, load_once);
    if (!loaded && error && size) snprintf(error, size, "%s", load_error);
    return loaded;
}
