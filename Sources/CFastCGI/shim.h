#ifndef AUTHGATE_CFASTCGI_SHIM_H
#define AUTHGATE_CFASTCGI_SHIM_H
#include <fcgiapp.h>
#include <fcgios.h>
#endif
