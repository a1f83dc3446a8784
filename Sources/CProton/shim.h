#ifndef FERRULE_CPROTON_SHIM_H
#define FERRULE_CPROTON_SHIM_H
/* Apache Qpid Proton-C (Debian libqpid-proton11-dev): the AMQP 1.0 engine and its proactor. */
#include <proton/condition.h>
#include <proton/connection.h>
#include <proton/delivery.h>
#include <proton/disposition.h>
#include <proton/event.h>
#include <proton/link.h>
#include <proton/message.h>
#include <proton/proactor.h>
#include <proton/sasl.h>
#include <proton/session.h>
#include <proton/ssl.h>
#include <proton/terminus.h>
#include <proton/transport.h>
#endif
