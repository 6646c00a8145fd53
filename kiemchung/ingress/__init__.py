"""Ingress: turn messages from the e-office system (edXML, QCVN 102:2016) into DocumentLinked events."""
