#ifndef AUTHGATE_CQRENCODE_SHIM_H
#define AUTHGATE_CQRENCODE_SHIM_H
/* Debian's libqrencode (libqrencode-dev; runtime libqrencode4): the enrolment page's QR code. */
#include <qrencode.h>
#endif
