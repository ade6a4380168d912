-- A copied database (staging, test) must never text real customers: disable every SMS
-- gateway and blank its credentials, so all SMS fall back to Odoo's (neutralized) IAP path.
UPDATE sms_gateway
   SET active = false,
       auth_token = NULL,
       signature_secret = NULL;
UPDATE res_company
   SET sms_gateway_id = NULL;
