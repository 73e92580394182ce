// SPDX-License-Identifier: UNLICENSED
pragma solidity 0.8.37;

import {MerkleProof} from "@openzeppelin/contracts/utils/cryptography/MerkleProof.sol";
import {EscrowLedger} from "./EscrowLedger.sol";

/// @title Batch settlement of the gpu-exchange Escrow
/// @notice The marketplace (SETTLER_ROLE) mirrors its holds with `setHolds` and settles completed jobs in
///         batches with `settle`: one transaction debits clients, credits providers' claimable balances
///         (pull payments) and the protocol fee, and records the Merkle root of the batch's jobs. A client
///         whose balance cannot cover its debit does not fail the batch: its line becomes a debt
///         (DebtRecorded), the credits that line would have paid wait in the debt, and anyone settles it
///         with `payDebt` once the client's free balance covers it. No per-job storage or events: a job is
///         proven against its batch's root with `verifyJob`.
abstract contract EscrowSettlement is EscrowLedger {
    /// @notice The arguments of `settle`: one batch of completed jobs.
    /// @param batchId settles at most once (BatchAlreadySettled).
    /// @param merkleRoot root of the batch's job leaves; must not be zero.
    /// @param jobCount number of leaves, recorded in the event only.
    /// @param clients and `debits`: what each client entry pays.
    /// @param providers and `credits`: what each provider entry is credited.
    /// @param lines what each client entry pays each provider entry: (clientIndex << 240) |
    ///        (providerIndex << 224) | amount, so that credits[p] is the sum of the lines of provider p
    ///        and a client's lines sum to at most its debit (the rest of its debit is the fee).
    struct Batch {
        uint256 batchId;
        bytes32 merkleRoot;
        uint32 jobCount;
        address[] clients;
        uint256[] debits;
        address[] providers;
        uint256[] credits;
        uint256[] lines;
    }

    /// @dev A settle line: client index (bits 240-255), provider index (bits 224-239), amount (bits 0-223).
    uint256 private constant LINE_AMOUNT_MASK = (1 << 224) - 1;

    mapping(uint256 batchId => bytes32) private _batchRoots;
    /// @notice Debts recorded so far; debt ids are 1..debtCount.
    uint256 public debtCount;
    /// @dev keccak256(abi.encode(batchId, client, amount, providers, credits)) of an open debt; zero once paid.
    mapping(uint256 debtId => bytes32) private _debts;

    event HoldsUpdated(address indexed client, uint256 held);
    event Debited(uint256 indexed batchId, address indexed client, uint256 amount, uint256 newBalance, uint256 newHeld);
    event BatchSettled(
        uint256 indexed batchId, bytes32 merkleRoot, uint32 jobCount, uint256 totalDebited, uint256 totalCredited
    );
    /// @notice A client's line of batch `batchId` that its balance could not cover: it owes `amount`, and
    ///         `providers[k]` is owed `credits[k]` of it (the rest is the fee) once the debt is paid.
    event DebtRecorded(
        uint256 indexed debtId,
        uint256 indexed batchId,
        address indexed client,
        uint256 amount,
        uint256 newDebt,
        address[] providers,
        uint256[] credits
    );
    event DebtPaid(
        uint256 indexed debtId, uint256 indexed batchId, address indexed client, uint256 amount, uint256 newBalance, uint256 newDebt
    );

    error CreditsExceedDebits(uint256 totalDebited, uint256 totalCredited);
    error BatchAlreadySettled(uint256 batchId);
    error EmptyMerkleRoot();
    error UnknownDebt(uint256 debtId);

    /// @notice Sets absolute held amounts. A hold above the client's balance is clamped to the
    ///         balance (HoldsUpdated carries the stored value), so one client's balance cannot make
    ///         the whole update revert. A client may appear more than once: the last entry wins.
    function setHolds(address[] calldata clients, uint256[] calldata amounts)
        external
        onlyRole(SETTLER_ROLE)
        whenNotPaused
    {
        if (clients.length != amounts.length) revert LengthMismatch();
        for (uint256 i; i < clients.length; ++i) {
            Account storage a = _accounts[clients[i]];
            uint256 held = amounts[i] < a.balance ? amounts[i] : a.balance;
            a.held = uint128(held);
            emit HoldsUpdated(clients[i], held);
        }
    }

    /// @notice Settles a batch of jobs. Debits each client (and lowers its held by the debit, not below
    ///         zero), credits each provider's claimable balance, and credits the protocol fee
    ///         sum(debits) - sum(credits) to the fee recipient's claimable balance. A client whose balance
    ///         is below its debit is not debited: its line becomes a debt (DebtRecorded) that holds the
    ///         credits its `lines` name, the providers are credited the rest, and every other line settles.
    /// @dev Leaves are keccak256(abi.encode(bytes32 jobId, address provider, uint256 amount,
    ///      bytes32 resultHash)) in a sorted-pair keccak256 tree (OpenZeppelin MerkleProof). The
    ///      contract does not check the leaves or the lines against the debits and credits; the indexer
    ///      and auditors can. The lines are read only for a client that is short. Repeated addresses are
    ///      allowed (each entry applies in order).
    ///      The batch's fields are described at `Batch`.
    function settle(Batch calldata b) external onlyRole(SETTLER_ROLE) whenNotPaused {
        if (b.clients.length != b.debits.length || b.providers.length != b.credits.length) revert LengthMismatch();
        if (b.merkleRoot == bytes32(0)) revert EmptyMerkleRoot();
        uint256 batchId = b.batchId;
        if (_batchRoots[batchId] != bytes32(0)) revert BatchAlreadySettled(batchId);
        _batchRoots[batchId] = b.merkleRoot;

        (uint256 totalDebited, uint256[] memory deferred) = _debit(b);
        uint256 totalCredited = _credit(batchId, b.providers, b.credits, deferred);
        if (totalCredited > totalDebited) revert CreditsExceedDebits(totalDebited, totalCredited);
        if (totalDebited != totalCredited) _creditFee(batchId, totalDebited - totalCredited);
        emit BatchSettled(batchId, b.merkleRoot, b.jobCount, totalDebited, totalCredited);
    }

    /// @dev `deferred[p]`: what provider entry p is not credited now (it waits in debts); empty when no
    ///      client was short.
    function _debit(Batch calldata b) private returns (uint256 total, uint256[] memory deferred) {
        uint256 batchId = b.batchId;
        address[] calldata clients = b.clients;
        uint256[] calldata debits = b.debits;
        for (uint256 i; i < clients.length; ++i) {
            address client = clients[i];
            uint256 debit = debits[i];
            Account storage a = _accounts[client];
            Account memory m = a;
            if (debit > m.balance) {
                if (deferred.length == 0) deferred = new uint256[](b.providers.length);
                _recordDebt(b, i, deferred);
                continue;
            }
            uint128 newBalance = m.balance - uint128(debit);
            uint128 newHeld = m.held > debit ? m.held - uint128(debit) : 0;
            a.balance = newBalance;
            a.held = newHeld;
            total += debit;
            emit Debited(batchId, client, debit, newBalance, newHeld);
        }
    }

    /// @dev The short client's line as a debt: its lines' credits move from the batch into the debt.
    function _recordDebt(Batch calldata b, uint256 clientIndex, uint256[] memory deferred) private {
        uint256[] calldata lines = b.lines;
        address[] calldata providers = b.providers;
        uint256 count;
        for (uint256 k; k < lines.length; ++k) {
            if (lines[k] >> 240 == clientIndex) ++count;
        }
        address[] memory owedTo = new address[](count);
        uint256[] memory owed = new uint256[](count);
        uint256 n;
        uint256 sum;
        for (uint256 k; k < lines.length; ++k) {
            uint256 line = lines[k];
            if (line >> 240 != clientIndex) continue;
            uint256 p = (line >> 224) & 0xffff;
            if (p >= providers.length) revert LinesMismatch();
            uint256 amount = line & LINE_AMOUNT_MASK;
            deferred[p] += amount;
            owedTo[n] = providers[p];
            owed[n] = amount;
            sum += amount;
            ++n;
        }
        _openDebt(b.batchId, b.clients[clientIndex], b.debits[clientIndex], sum, owedTo, owed);
    }

    function _openDebt(uint256 batchId, address client, uint256 debit, uint256 owedSum, address[] memory owedTo, uint256[] memory owed)
        private
    {
        if (owedSum > debit) revert LinesMismatch();
        uint256 debtId = ++debtCount;
        _debts[debtId] = keccak256(abi.encode(batchId, client, debit, owedTo, owed));
        uint256 newDebt = _debtOf[client] + debit;
        _debtOf[client] = newDebt;
        emit DebtRecorded(debtId, batchId, client, debit, newDebt, owedTo, owed);
    }

    /// @notice Pays open debt `debtId` from the client's free balance (balance - held): the client's
    ///         balance drops by `amount`, the providers the debt names are credited what it owes them, and
    ///         the fee recipient the rest. Anyone may call it; the arguments are those of its DebtRecorded.
    function payDebt(
        uint256 debtId,
        uint256 batchId,
        address client,
        uint256 amount,
        address[] calldata providers,
        uint256[] calldata credits
    ) external whenNotPaused {
        bytes32 recorded = _debts[debtId];
        if (recorded == bytes32(0) || recorded != keccak256(abi.encode(batchId, client, amount, providers, credits))) {
            revert UnknownDebt(debtId);
        }
        Account storage a = _accounts[client];
        Account memory m = a;
        uint256 free = uint256(m.balance) - m.held;
        if (amount > free) revert InsufficientFreeBalance(client, free, amount);
        delete _debts[debtId];
        uint128 newBalance = m.balance - uint128(amount);
        a.balance = newBalance;
        uint256 newDebt = _debtOf[client] - amount;
        _debtOf[client] = newDebt;
        emit DebtPaid(debtId, batchId, client, amount, newBalance, newDebt);
        uint256 credited = _credit(batchId, providers, credits, new uint256[](0));
        if (amount != credited) _creditFee(batchId, amount - credited);
    }

    // ------------------------------------------------------------------ views

    /// @notice Whether debt `debtId` was recorded and is not paid yet.
    function isDebtOpen(uint256 debtId) external view returns (bool) {
        return _debts[debtId] != bytes32(0);
    }

    /// @notice The Merkle root a settled batch recorded; zero when the batch is not settled.
    function batchRoot(uint256 batchId) external view returns (bytes32) {
        return _batchRoots[batchId];
    }

    function isSettled(uint256 batchId) external view returns (bool) {
        return _batchRoots[batchId] != bytes32(0);
    }

    /// @notice keccak256(abi.encode(jobId, provider, amount, resultHash)): a job's leaf. The preimage
    ///         is 128 bytes and an inner node's 64, so a leaf cannot pass for an inner node.
    function jobLeaf(bytes32 jobId, address provider, uint256 amount, bytes32 resultHash)
        public
        pure
        returns (bytes32)
    {
        return keccak256(abi.encode(jobId, provider, amount, resultHash));
    }

    /// @notice Whether the job (jobId, provider, amount, resultHash) is in settled batch `batchId`,
    ///         given its sorted-pair Merkle proof.
    function verifyJob(
        uint256 batchId,
        bytes32 jobId,
        address provider,
        uint256 amount,
        bytes32 resultHash,
        bytes32[] calldata proof
    ) external view returns (bool) {
        bytes32 root = _batchRoots[batchId];
        if (root == bytes32(0)) return false;
        return MerkleProof.verifyCalldata(proof, root, jobLeaf(jobId, provider, amount, resultHash));
    }
}
