// SPDX-License-Identifier: UNLICENSED
pragma solidity 0.8.37;

import {EscrowLedger} from "./EscrowLedger.sol";

/// @title Spending allowances of the gpu-exchange Escrow
/// @notice A client that cannot sign an order per job (an API key's script, the relay's treasury) lets the
///         marketplace debit it up to `amount` until `until` with `approveSpending`; every settled debit the
///         allowance covers lowers it, and such a debit cannot be challenged (the client agreed to it). A
///         raise applies at once; a lower amount or an earlier end applies only after the withdrawal delay,
///         so the marketplace sees it coming and stops matching on it before it bites (the jobs it already
///         matched still settle under the old allowance).
abstract contract EscrowAllowance is EscrowLedger {
    struct Allowance {
        uint128 amount;
        uint64 until;
    }

    /// @dev A requested decrease: it replaces the allowance at `effectiveAt` (amount: at most what is left).
    struct AllowanceChange {
        uint128 amount;
        uint64 until;
        uint64 effectiveAt;
    }

    mapping(address client => Allowance) private _allowances;
    mapping(address client => AllowanceChange) private _allowanceChanges;

    event SpendingApproved(address indexed client, uint256 amount, uint64 until);
    event SpendingDecreaseRequested(address indexed client, uint256 amount, uint64 until, uint64 effectiveAt);

    /// @dev The delay before a decrease applies (Escrow: its withdrawal delay).
    function _decreaseDelay() internal view virtual returns (uint64);

    /// @notice Lets settlement debit the caller up to `amount` in total until unix time `until`. An amount and
    ///         an end both at least the current ones apply now (and cancel a pending decrease); anything lower
    ///         applies after the withdrawal delay.
    function approveSpending(uint256 amount, uint64 until) external whenNotPaused {
        uint128 amount128 = amount > type(uint128).max ? type(uint128).max : uint128(amount);
        Allowance memory current = _allowanceNow(msg.sender);
        if (amount128 >= current.amount && until >= current.until) {
            _allowances[msg.sender] = Allowance(amount128, until);
            delete _allowanceChanges[msg.sender];
            emit SpendingApproved(msg.sender, amount128, until);
        } else {
            // a decrease that fell due stays applied while the new one waits
            _allowances[msg.sender] = current;
            uint64 effectiveAt = uint64(block.timestamp) + _decreaseDelay();
            _allowanceChanges[msg.sender] = AllowanceChange(amount128, until, effectiveAt);
            emit SpendingDecreaseRequested(msg.sender, amount128, until, effectiveAt);
        }
    }

    /// @dev The allowance in force now: a due decrease applied (its amount capped by what is left).
    function _allowanceNow(address client) private view returns (Allowance memory a) {
        a = _allowances[client];
        AllowanceChange memory c = _allowanceChanges[client];
        if (c.effectiveAt != 0 && c.effectiveAt <= block.timestamp) {
            a = Allowance(c.amount < a.amount ? c.amount : a.amount, c.until);
        }
    }

    /// @dev Debits `debit` from `client`'s allowance if it covers it now; false (and nothing changes) if not.
    function _useAllowance(address client, uint256 debit) internal returns (bool) {
        Allowance memory a = _allowanceNow(client);
        if (block.timestamp > a.until || debit > a.amount) return false;
        if (_allowanceChanges[client].effectiveAt != 0 && _allowanceChanges[client].effectiveAt <= block.timestamp) {
            delete _allowanceChanges[client];
        }
        _allowances[client] = Allowance(a.amount - uint128(debit), a.until);
        return true;
    }

    /// @notice The allowance in force now (amount left, end), and a pending decrease (0s when none).
    function allowanceOf(address client)
        external
        view
        returns (uint256 amount, uint64 until, uint256 nextAmount, uint64 nextUntil, uint64 nextAt)
    {
        Allowance memory a = _allowanceNow(client);
        AllowanceChange memory c = _allowanceChanges[client];
        if (c.effectiveAt <= block.timestamp) c = AllowanceChange(0, 0, 0);
        return (a.amount, a.until, c.amount, c.until, c.effectiveAt);
    }
}
